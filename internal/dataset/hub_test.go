package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/llenergymeasure/llem/config"
)

const testToken = "hf_test_secret_token"

// fixtureRows stand in for the AI Energy Score set: a "text" column written
// as pandas writes it (optional strings), one null.
var fixtureRows = []*string{ptr("A WikiText paragraph about a river."), ptr("An OSCAR web text about cooking."), nil, ptr("An UltraChat question about sleep?")}

func ptr(s string) *string { return &s }

func parquetFixture(t *testing.T) []byte {
	t.Helper()
	type row struct {
		Text *string `parquet:"text,optional"`
	}
	rows := make([]row, len(fixtureRows))
	for i, r := range fixtureRows {
		rows[i].Text = r
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeHub serves one dataset file the way the Hugging Face Hub does: the
// resolve URL answers with the commit, the LFS etag (the content's SHA-256)
// and size, and redirects to a storage URL that honours Range requests.
type fakeHub struct {
	content []byte
	etag    string
	commit  string

	mu       sync.Mutex
	drops    int // storage responses still to cut off midway
	requests int
	auths    []string // Authorization headers, in request order
	ranges   []string // Range headers of storage requests
}

func newFakeHub(t *testing.T, content []byte) (*fakeHub, *httptest.Server) {
	t.Helper()
	f := &fakeHub{content: content, etag: sha(string(content)), commit: config.DefaultAIEnergyScoreRevision}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	f.mu.Unlock()

	prefix := "/datasets/" + AIEnergyScoreRepo + "/resolve/"
	switch {
	case strings.HasPrefix(r.URL.Path, prefix):
		rev, file, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, prefix), "/")
		if (rev != f.commit && rev != "main") || file != AIEnergyScoreFile {
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Repo-Commit", f.commit)
		w.Header().Set("X-Linked-Etag", `"`+f.etag+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.content)))
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef01234567"`)
		w.Header().Set("Location", "/storage/"+f.etag)
		w.WriteHeader(http.StatusFound)
	case r.URL.Path == "/storage/"+f.etag:
		f.mu.Lock()
		f.ranges = append(f.ranges, r.Header.Get("Range"))
		drop := f.drops > 0
		if drop {
			f.drops--
		}
		f.mu.Unlock()
		if drop {
			start := 0
			if rg, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok {
				start, _ = strconv.Atoi(strings.TrimSuffix(rg, "-"))
			}
			rest := f.content[start:]
			w.Header().Set("Content-Length", strconv.Itoa(len(rest)))
			if start > 0 {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(f.content)-1, len(f.content)))
				w.WriteHeader(http.StatusPartialContent)
			}
			_, _ = w.Write(rest[:len(rest)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection midway
		}
		http.ServeContent(w, r, "data.parquet", time.Time{}, bytes.NewReader(f.content))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeHub) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func hubOptions(srv *httptest.Server, cache string) Options {
	return Options{HubEndpoint: srv.URL, HubCache: cache, Token: testToken}
}

func loadAIES(opts Options, rev string, n int) (*Set, error) {
	return Load(context.Background(), config.DatasetConfig{Name: config.DatasetAIEnergyScore, Revision: rev}, n, nil, opts)
}

func repoCache(cache string) string {
	return filepath.Join(cache, "datasets--AIEnergyScore--text_generation")
}

func TestHubDownload(t *testing.T) {
	content := parquetFixture(t)
	fake, srv := newFakeHub(t, content)
	cache := t.TempDir()
	set, err := loadAIES(hubOptions(srv, cache), "", 3)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range set.Prompts {
		texts = append(texts, p.ID+": "+p.Text)
	}
	want := []string{"aienergyscore-0000: " + *fixtureRows[0], "aienergyscore-0001: " + *fixtureRows[1], "aienergyscore-0003: " + *fixtureRows[3]}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("prompts:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if set.Info.Name != config.DatasetAIEnergyScore || set.Info.Revision != config.DefaultAIEnergyScoreRevision || set.Info.SHA256 != fake.etag {
		t.Errorf("info = %+v", set.Info)
	}

	// The huggingface_hub layout: the blob named by its etag, the snapshot a
	// relative symlink to it, nothing left half-written.
	repo := repoCache(cache)
	blob := filepath.Join(repo, "blobs", fake.etag)
	if got, err := os.ReadFile(blob); err != nil || !bytes.Equal(got, content) {
		t.Errorf("blob %s: %v", blob, err)
	}
	snap := filepath.Join(repo, "snapshots", config.DefaultAIEnergyScoreRevision, "data", "train-00000-of-00001.parquet")
	if target, err := os.Readlink(snap); err != nil || target != filepath.Join("..", "..", "..", "blobs", fake.etag) {
		t.Errorf("snapshot link = %q, %v", target, err)
	}
	if _, err := os.Stat(blob + ".incomplete"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".incomplete left behind: %v", err)
	}
	// The token goes to the Hub (and to storage on the same host) as a header.
	for i, a := range fake.auths {
		if a != "Bearer "+testToken {
			t.Errorf("request %d: Authorization %q", i, a)
		}
	}

	// A pinned commit already cached is used without asking the Hub.
	before := fake.count()
	if _, err := loadAIES(hubOptions(srv, cache), "", 3); err != nil {
		t.Fatal(err)
	}
	if fake.count() != before {
		t.Errorf("cached pinned revision made %d requests", fake.count()-before)
	}
}

func TestHubBranchRevisionAndOffline(t *testing.T) {
	fake, srv := newFakeHub(t, parquetFixture(t))
	cache := t.TempDir()
	if _, err := loadAIES(hubOptions(srv, cache), "main", 3); err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(filepath.Join(repoCache(cache), "refs", "main"))
	if err != nil || string(ref) != fake.commit {
		t.Fatalf("refs/main = %q, %v", ref, err)
	}
	srv.Close()
	for _, rev := range []string{"main", config.DefaultAIEnergyScoreRevision} {
		opts := hubOptions(srv, cache)
		opts.Offline = true
		set, err := loadAIES(opts, rev, 3)
		if err != nil {
			t.Fatalf("offline %s: %v", rev, err)
		}
		if set.Info.Revision != fake.commit {
			t.Errorf("offline %s: revision %q", rev, set.Info.Revision)
		}
	}
	// Online but unreachable: a cached branch stays usable.
	if _, err := loadAIES(hubOptions(srv, cache), "main", 3); err != nil {
		t.Errorf("unreachable Hub with cached branch: %v", err)
	}
}

func TestHubResumesInterruptedDownload(t *testing.T) {
	content := parquetFixture(t)
	fake, srv := newFakeHub(t, content)
	fake.drops = 1
	if _, err := loadAIES(hubOptions(srv, t.TempDir()), "", 3); err != nil {
		t.Fatal(err)
	}
	want := []string{"", fmt.Sprintf("bytes=%d-", len(content)/2)}
	if strings.Join(fake.ranges, ",") != strings.Join(want, ",") {
		t.Errorf("storage Range headers = %q, want %q", fake.ranges, want)
	}
}

func TestHubFailedDownloadThenResume(t *testing.T) {
	content := parquetFixture(t)
	fake, srv := newFakeHub(t, content)
	fake.drops = 1000
	cache := t.TempDir()
	_, err := loadAIES(hubOptions(srv, cache), "", 3)
	if !errors.Is(err, ErrDatasetUnavailable) {
		t.Fatalf("err = %v, want ErrDatasetUnavailable", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Error("error holds the token")
	}
	if len(fake.ranges) != downloadAttempts {
		t.Errorf("%d attempts, want %d", len(fake.ranges), downloadAttempts)
	}
	incomplete := filepath.Join(repoCache(cache), "blobs", fake.etag+".incomplete")
	st, err := os.Stat(incomplete)
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(content)) {
		t.Fatalf("partial download: %v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(repoCache(cache), "snapshots")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot made for a failed download: %v", err)
	}

	// The next run picks up where the last one stopped.
	fake.drops, fake.ranges = 0, nil
	set, err := loadAIES(hubOptions(srv, cache), "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("bytes=%d-", st.Size()); len(fake.ranges) != 1 || fake.ranges[0] != want {
		t.Errorf("Range = %q, want %q", fake.ranges, want)
	}
	if set.Info.SHA256 != fake.etag {
		t.Errorf("sha256 = %s, want %s", set.Info.SHA256, fake.etag)
	}
}

func TestHubRejectsWrongHash(t *testing.T) {
	fake, srv := newFakeHub(t, parquetFixture(t))
	fake.etag = sha("something else")
	cache := t.TempDir()
	_, err := loadAIES(hubOptions(srv, cache), "", 3)
	if !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("err = %v, want ErrHashMismatch", err)
	}
	entries, _ := os.ReadDir(filepath.Join(repoCache(cache), "blobs"))
	if len(entries) != 0 {
		t.Errorf("blobs left after a hash mismatch: %v", entries)
	}
}

func TestHubRejectsCorruptCache(t *testing.T) {
	fake, srv := newFakeHub(t, parquetFixture(t))
	cache := t.TempDir()
	if _, err := loadAIES(hubOptions(srv, cache), "", 3); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repoCache(cache), "blobs", fake.etag), []byte("corrupt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadAIES(hubOptions(srv, cache), "", 3); !errors.Is(err, ErrHashMismatch) {
		t.Errorf("err = %v, want ErrHashMismatch", err)
	}
}

func TestHubUnavailable(t *testing.T) {
	_, srv := newFakeHub(t, parquetFixture(t))
	srv.Close() // no network
	cache := t.TempDir()
	url := srv.URL + "/datasets/AIEnergyScore/text_generation/resolve/" + config.DefaultAIEnergyScoreRevision + "/data/train-00000-of-00001.parquet"
	for _, offline := range []bool{false, true} {
		opts := hubOptions(srv, cache)
		opts.Offline = offline
		_, err := loadAIES(opts, "", 3)
		if !errors.Is(err, ErrDatasetUnavailable) {
			t.Fatalf("offline=%v: err = %v, want ErrDatasetUnavailable", offline, err)
		}
		msg := err.Error()
		for _, want := range []string{url, filepath.Join(repoCache(cache), "snapshots", config.DefaultAIEnergyScoreRevision, "data", "train-00000-of-00001.parquet"), "huggingface-cli download --repo-type dataset --revision " + config.DefaultAIEnergyScoreRevision + " AIEnergyScore/text_generation data/train-00000-of-00001.parquet"} {
			if !strings.Contains(msg, want) {
				t.Errorf("offline=%v: %q\nlacks %q", offline, msg, want)
			}
		}
		if strings.Contains(msg, "\n") || strings.Contains(msg, testToken) {
			t.Errorf("offline=%v: message is not one token-free line: %q", offline, msg)
		}
	}
}

func TestHubAccessDenied(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gated", http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, err := loadAIES(hubOptions(srv, t.TempDir()), "", 3)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "HF_TOKEN") || strings.Contains(err.Error(), testToken) {
		t.Errorf("err = %v", err)
	}
}

func TestHubPoolTooSmall(t *testing.T) {
	_, srv := newFakeHub(t, parquetFixture(t))
	_, err := loadAIES(hubOptions(srv, t.TempDir()), "", 4)
	if err == nil || !strings.Contains(err.Error(), "n = 4 but the pool holds only 3") {
		t.Errorf("err = %v", err)
	}
}

func TestOptionsFromEnv(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("hf_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want Options
	}{
		{"defaults", map[string]string{"HOME": "/home/u"}, Options{HubEndpoint: DefaultHubEndpoint, HubCache: "/home/u/.cache/huggingface/hub"}},
		{"xdg", map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"}, Options{HubEndpoint: DefaultHubEndpoint, HubCache: "/xdg/huggingface/hub"}},
		{"hf-home-token-file", map[string]string{"HF_HOME": home, "HF_HUB_OFFLINE": "1"}, Options{HubEndpoint: DefaultHubEndpoint, HubCache: filepath.Join(home, "hub"), Token: "hf_from_file", Offline: true}},
		{"explicit", map[string]string{"HF_HOME": home, "HF_HUB_CACHE": "/c", "HF_ENDPOINT": "https://mirror.example/", "HF_TOKEN": "hf_env", "HF_HUB_OFFLINE": "false"},
			Options{HubEndpoint: "https://mirror.example", HubCache: "/c", Token: "hf_env"}},
		{"offline-yes", map[string]string{"HF_HUB_OFFLINE": "YES"}, Options{HubEndpoint: DefaultHubEndpoint, Offline: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := OptionsFromEnv(func(k string) string { return tc.env[k] })
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
