package energy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestThermalReaderHottestZone(t *testing.T) {
	root := t.TempDir()
	for zone, milli := range map[string]string{"thermal_zone0": "41000\n", "thermal_zone1": "57500\n", "thermal_zone2": "garbage\n"} {
		os.MkdirAll(filepath.Join(root, zone), 0o755)
		os.WriteFile(filepath.Join(root, zone, "temp"), []byte(milli), 0o644)
	}
	r, err := OpenThermal(root, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.TemperatureC(context.Background())
	if err != nil || c != 57.5 {
		t.Errorf("TemperatureC = %v, %v; want 57.5 (the unreadable zone skipped)", c, err)
	}
}

func TestThermalReaderNoneSaysWhy(t *testing.T) {
	_, err := OpenThermal(t.TempDir(), true)
	if err == nil {
		t.Fatal("expected an error with no sensor")
	}
	if want := "no readable thermal zone"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}
