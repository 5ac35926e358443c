package envsnap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDistribution(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"ubuntu", map[string]string{"etc/os-release": "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n"}, "ubuntu 22.04"},
		{"debian point release", map[string]string{"etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n", "etc/debian_version": "12.11\n"}, "debian 12.11"},
		{"debian testing", map[string]string{"etc/os-release": "ID=debian\n", "etc/debian_version": "trixie/sid\n"}, "debian trixie/sid"},
		{"rocky", map[string]string{"etc/os-release": "# comment\nID=\"rocky\"\nVERSION_ID='9.3'\n"}, "rocky 9.3"},
		{"rolling, no version", map[string]string{"etc/os-release": "ID=arch\n"}, "arch"},
		{"usr/lib fallback", map[string]string{"usr/lib/os-release": "ID=fedora\nVERSION_ID=40\n"}, "fedora 40"},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for f, c := range tt.files {
				p := filepath.Join(root, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := distribution(root); got != tt.want {
				t.Errorf("distribution = %q, want %q", got, tt.want)
			}
			osName, kernel, _ := hostFacts(t.Context(), root)
			if want := strings.TrimSpace("linux " + tt.want); osName != want {
				t.Errorf("OS = %q, want %q", osName, want)
			}
			if f := strings.Fields(kernel); len(f) != 2 {
				t.Errorf("kernel = %q, want release and architecture", kernel)
			}
		})
	}
}
