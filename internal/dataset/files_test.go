package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(content string) string {
	s := sha256.Sum256([]byte(content))
	return hex.EncodeToString(s[:])
}

func TestJSONL(t *testing.T) {
	content := `{"prompt": "What is the capital of France?"}

{"id": "chat-1", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a prime."}], "max_new_tokens": 16}
{"prompt": "Write a haiku.", "extra": "ignored"}
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prompts.jsonl"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	// A relative path resolves against BaseDir; the name is inferred.
	set, err := Load(context.Background(), config.DatasetConfig{Path: "prompts.jsonl"}, 3, nil, Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Prompt{
		{ID: "line-1", Text: "What is the capital of France?"},
		{ID: "chat-1", Text: "Be brief.\n\nName a prime.", MaxNewTokens: 16, Messages: []engine.Message{
			{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Name a prime."}}},
		{ID: "line-4", Text: "Write a haiku."},
	}
	if !reflect.DeepEqual(set.Prompts, want) {
		t.Errorf("prompts:\n got %+v\nwant %+v", set.Prompts, want)
	}
	if set.Info.Name != config.DatasetJSONL || set.Info.SHA256 != sha(content) {
		t.Errorf("info = %+v, want jsonl with sha256 %s", set.Info, sha(content))
	}

	// The hash the config recorded at load time must still hold.
	stale := config.DatasetConfig{Path: "prompts.jsonl", FileSHA256: sha("older content")}
	_, err = Load(context.Background(), stale, 3, nil, Options{BaseDir: dir})
	if err == nil || !strings.Contains(err.Error(), "prompts.jsonl changed since the config was loaded") {
		t.Errorf("err = %v", err)
	}
}

func TestJSONLErrors(t *testing.T) {
	good := `{"prompt": "fine"}` + "\n"
	cases := []struct {
		name, line, want string
	}{
		{"syntax", `{"prompt": "unterminated}`, `:2:25: invalid JSON`},
		{"type", `{"prompt": 42}`, `:2:13: prompt is a JSON number, want string`},
		{"neither", `{"text": "x"}`, `:2: no "prompt" or "messages" field`},
		{"both", `{"prompt": "x", "messages": [{"role": "user", "content": "y"}]}`, `:2: both "prompt" and "messages"`},
		{"empty", `{"prompt": "  "}`, `:2: empty "prompt"`},
		{"role", `{"messages": [{"role": "bot", "content": "y"}]}`, `:2: messages[0]: role "bot"`},
		{"no-user", `{"messages": [{"role": "system", "content": "y"}]}`, `:2: "messages" has no user turn`},
		{"empty-content", `{"messages": [{"role": "user", "content": ""}]}`, `:2: messages[0]: empty content`},
		{"negative", `{"prompt": "x", "max_new_tokens": -1}`, `:2: "max_new_tokens" must not be negative`},
		{"duplicate-id", `{"id": "line-1", "prompt": "x"}`, `:2: id "line-1" already used on line 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "bad.jsonl", good+tc.line+"\n"+good)
			_, err := Load(context.Background(), config.DatasetConfig{Name: config.DatasetJSONL, Path: p}, 1, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), p+tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, p+tc.want)
			}
		})
	}
	t.Run("empty-file", func(t *testing.T) {
		p := writeFile(t, "empty.jsonl", "\n\n")
		_, err := Load(context.Background(), config.DatasetConfig{Name: config.DatasetJSONL, Path: p}, 1, nil, Options{})
		if err == nil || !strings.Contains(err.Error(), p+": no prompts") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := Load(context.Background(), config.DatasetConfig{Name: config.DatasetJSONL, Path: "/nonexistent/p.jsonl"}, 1, nil, Options{})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want not-exist", err)
		}
	})
}

func TestShareGPT(t *testing.T) {
	content := `[
  {"id": "a", "conversations": [{"from": "human", "value": "First question?"}, {"from": "gpt", "value": "Answer."}, {"from": "human", "value": "Follow-up"}]},
  {"id": "b", "conversations": [{"from": "gpt", "value": "No human turn here."}]},
  {"conversations": [{"from": "system", "value": "sys"}, {"from": "user", "value": "Second question?"}]}
]`
	p := writeFile(t, "sharegpt.json", content)
	set, err := Load(context.Background(), config.DatasetConfig{Path: p}, 2, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Prompt{{ID: "a", Text: "First question?"}, {ID: "conversation-2", Text: "Second question?"}}
	if !reflect.DeepEqual(set.Prompts, want) {
		t.Errorf("prompts = %+v, want %+v", set.Prompts, want)
	}
	if set.Info.Name != config.DatasetShareGPT || set.Info.SHA256 != sha(content) || set.Info.Params["skipped_without_human_turn"] != 1 {
		t.Errorf("info = %+v", set.Info)
	}
}

func TestShareGPTErrors(t *testing.T) {
	cases := []struct {
		name, content, want string
	}{
		{"syntax", "[\n  {\"conversations\": []},\n  {\"conversations\": [}\n]", ":3:22: invalid JSON"},
		{"type", "[\n  {\"conversations\": [\n    {\"from\": \"human\", \"value\": 7}\n  ]}\n]", ":3:32: conversations.value is a JSON number, want string"},
		{"not-array", `{"conversations": []}`, ":1:1: want a JSON array of conversations"},
		{"no-conversations", "[\n  {\"conversations\": [{\"from\": \"human\", \"value\": \"ok\"}]},\n  {\"prompt\": \"x\"}\n]", `:3: conversation 1 has no "conversations" list`},
		{"no-human", `[{"conversations": [{"from": "gpt", "value": "x"}]}]`, "none of 1 conversations has a human turn"},
		{"truncated", "[\n  {\"conversations\": [", ":2:21: invalid JSON: unexpected end of JSON input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "bad.json", tc.content)
			_, err := Load(context.Background(), config.DatasetConfig{Name: config.DatasetShareGPT, Path: p}, 1, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v\nwant it to name %s and contain %q", err, p, tc.want)
			}
		})
	}
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"prompt": "x"}`))
	f.Add([]byte(`{"messages": [{"role": "user", "content": "y"}]}` + "\n" + `{"prompt": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pool, err := parseJSONL("f.jsonl", data)
		if err == nil {
			for _, it := range pool {
				if strings.TrimSpace(it.prompt.Text) == "" || it.prompt.ID == "" {
					t.Fatalf("accepted an empty prompt or id: %+v", it.prompt)
				}
			}
		}
	})
}

func FuzzShareGPT(f *testing.F) {
	f.Add([]byte(`[{"conversations": [{"from": "human", "value": "x"}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pool, _, err := parseShareGPT("f.json", data)
		if err == nil {
			for _, it := range pool {
				if strings.TrimSpace(it.prompt.Text) == "" {
					t.Fatalf("accepted an empty prompt: %+v", it.prompt)
				}
			}
		}
	})
}
