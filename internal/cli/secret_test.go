package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIKeyNeverStored runs studies (and one single experiment) against an
// OpenAI-compatible server on 127.0.0.1 that echoes the Authorization
// header in its 401 body: for several variable names, the key's value is
// in no file under the results folder and not on stdout or stderr, while
// the failure itself is still reported.
func TestAPIKeyNeverStored(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ok/") {
			serveCompletion(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
			"message": "invalid credentials: " + r.Header.Get("Authorization"),
		}})
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want 127.0.0.1", srv.URL)
	}
	for _, tc := range []struct {
		name, variable, execution, path string
		code                            int
	}{
		{"llem-prefixed", "LLEM_OPENAI", "execution: {n_cycles: 2}\n", "/deny/v1", ExitRunsFailed},
		{"allow-listed family", "CUDA_SERVICE", "execution: {n_cycles: 2}\n", "/deny/v1", ExitRunsFailed},
		{"credential-looking", "MY_API_KEY", "execution: {n_cycles: 2}\n", "/deny/v1", ExitRunsFailed},
		{"single experiment", "OMP_ENDPOINT_PASS", "", "/deny/v1", ExitRunsFailed},
		// Completed runs record the environment: not the key's variable.
		{"completed runs", "LLEM_OPENAI", "execution: {n_cycles: 2}\n", "/ok/v1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			key := "sk-test-" + hex.EncodeToString(b)
			src := fmt.Sprintf(`model: remote-model
backend: openai
n: 2
dataset: {name: synthetic, input_len: 8, output_len: 4}
baseline: {enabled: false}
warmup: {enabled: false}
openai: {base_url: %s%s, api_key_env: %s, request_timeout_seconds: 10}
%s`, srv.URL, tc.path, tc.variable, tc.execution)
			file, out := writeStudyFile(t, src)
			cmd, stdout, errOut := llemProcess(filepath.Join(t.TempDir(), "exec.log"), "run", file, "--output", out, "--no-gaps")
			cmd.Env = append(cmd.Env, tc.variable+"="+key)
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Fatalf("exit %d (%v), want %d\n%s\n%s", code, err, tc.code, stdout, errOut)
			}
			for what, text := range map[string]string{"stdout": stdout.String(), "stderr": errOut.String()} {
				if strings.Contains(text, key) {
					t.Errorf("the key is on %s:\n%s", what, text)
				}
			}
			if tc.code != 0 && !strings.Contains(errOut.String()+stdout.String(), "401") {
				t.Errorf("the failure (401) should still be reported:\n%s\n%s", stdout, errOut)
			}
			files, results := 0, 0
			err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				files++
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if strings.Contains(string(data), key) {
					t.Errorf("the key is in %s", p)
				}
				if d.Name() == "result.json" {
					results++
					var res struct {
						Environment struct {
							Env map[string]string `json:"env"`
						} `json:"environment"`
					}
					if err := json.Unmarshal(data, &res); err != nil {
						t.Fatal(err)
					}
					if _, ok := res.Environment.Env[tc.variable]; ok || len(res.Environment.Env) == 0 {
						t.Errorf("%s records the key's variable %s (or no environment at all): %v", p, tc.variable, res.Environment.Env)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files == 0 {
				t.Fatalf("nothing written under %s", out)
			}
			if tc.code == 0 && results != 2 {
				t.Errorf("%d result.json files, want 2", results)
			}
		})
	}
}

// serveCompletion streams a short completion, as an OpenAI-compatible
// server does.
func serveCompletion(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/completions") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for i := 0; i < 4; i++ {
		fmt.Fprintf(w, "data: {\"choices\":[{\"text\":\"tok \",\"finish_reason\":null}]}\n\n")
	}
	fmt.Fprintf(w, "data: {\"choices\":[{\"text\":\"\",\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":4}}\n\n")
	fmt.Fprintf(w, "data: [DONE]\n\n")
}
