package dataset

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultHubEndpoint is the Hugging Face Hub used when HF_ENDPOINT is unset.
const DefaultHubEndpoint = "https://huggingface.co"

// ErrHashMismatch is wrapped by errors for a downloaded or cached file whose
// content does not match the hash the Hub announced for it.
var ErrHashMismatch = errors.New("hash mismatch")

// downloadAttempts bounds retries of a download that breaks off; each retry
// resumes from the bytes already on disk.
const downloadAttempts = 3

// OptionsFromEnv reads the Hugging Face settings the huggingface_hub library
// honours: HF_ENDPOINT, HF_HUB_CACHE (else HF_HOME/hub, HF_HOME defaulting to
// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), HF_HUB_OFFLINE and
// HF_TOKEN (else the token file HF_HOME/token). getenv is os.Getenv in
// production.
func OptionsFromEnv(getenv func(string) string) Options {
	home := getenv("HF_HOME")
	if home == "" {
		cache := getenv("XDG_CACHE_HOME")
		if cache == "" {
			if h := getenv("HOME"); h != "" {
				cache = filepath.Join(h, ".cache")
			}
		}
		if cache != "" {
			home = filepath.Join(cache, "huggingface")
		}
	}
	opts := Options{
		HubEndpoint: strings.TrimRight(getenv("HF_ENDPOINT"), "/"),
		HubCache:    getenv("HF_HUB_CACHE"),
		Token:       strings.TrimSpace(getenv("HF_TOKEN")),
		Offline:     truthy(getenv("HF_HUB_OFFLINE")),
	}
	if opts.HubEndpoint == "" {
		opts.HubEndpoint = DefaultHubEndpoint
	}
	if opts.HubCache == "" && home != "" {
		opts.HubCache = filepath.Join(home, "hub")
	}
	if opts.Token == "" && home != "" {
		if b, err := os.ReadFile(filepath.Join(home, "token")); err == nil {
			opts.Token = strings.TrimSpace(string(b))
		}
	}
	return opts
}

func truthy(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// hubFile names one file of a Hub dataset repository at a revision.
type hubFile struct {
	Repo     string // owner/name
	Revision string // branch, tag or commit
	Filename string // path inside the repository, "/"-separated
}

// hub downloads Hub files into the huggingface_hub cache layout:
//
//	{cache}/datasets--{owner}--{name}/blobs/{etag}
//	{cache}/datasets--{owner}--{name}/snapshots/{commit}/{filename} -> ../../blobs/{etag}
//	{cache}/datasets--{owner}--{name}/refs/{revision}  (holds {commit})
//
// so files fetched by llem and by huggingface-cli are shared both ways.
type hub struct {
	endpoint string
	cache    string
	token    string
	offline  bool
	client   *http.Client
}

func newHub(opts Options) hub {
	h := hub{endpoint: strings.TrimRight(opts.HubEndpoint, "/"), cache: opts.HubCache, token: opts.Token, offline: opts.Offline, client: opts.HTTPClient}
	if h.endpoint == "" {
		h.endpoint = DefaultHubEndpoint
	}
	if h.client == nil {
		h.client = &http.Client{}
	}
	return h
}

// fetched is a file in the cache and what identifies it.
type fetched struct {
	Path   string // the snapshot path
	Commit string // the commit the revision resolved to
	SHA256 string // of the content, always computed
}

func (h hub) url(f hubFile) string {
	return h.endpoint + "/datasets/" + f.Repo + "/resolve/" + url.PathEscape(f.Revision) + "/" + f.Filename
}

func (h hub) repoDir(f hubFile) string {
	return filepath.Join(h.cache, "datasets--"+strings.ReplaceAll(f.Repo, "/", "--"))
}

func (h hub) snapshotPath(f hubFile, commit string) string {
	return filepath.Join(h.repoDir(f), "snapshots", commit, filepath.FromSlash(f.Filename))
}

// fetch returns the cached file, downloading it first when needed and
// allowed. A revision that is a commit hash is immutable, so a cached copy
// is used without asking the Hub.
func (h hub) fetch(ctx context.Context, f hubFile) (fetched, error) {
	if h.cache == "" {
		return fetched{}, fmt.Errorf("no Hugging Face cache directory (set HF_HOME or HF_HUB_CACHE): %w", ErrDatasetUnavailable)
	}
	cached, cacheErr := h.cached(f)
	if cacheErr == nil && (h.offline || isCommit(f.Revision)) {
		return cached, nil
	}
	if cacheErr != nil && !errors.Is(cacheErr, os.ErrNotExist) {
		return fetched{}, cacheErr
	}
	if h.offline {
		return fetched{}, h.unavailable(f, errors.New("HF_HUB_OFFLINE is set and the file is not in the cache"))
	}
	got, err := h.download(ctx, f)
	if err != nil && cacheErr == nil && errors.Is(err, ErrDatasetUnavailable) {
		// Like huggingface_hub: a branch revision already cached stays usable
		// when the Hub cannot be reached.
		return cached, nil
	}
	return got, err
}

// cached finds f in the cache. It returns an error wrapping os.ErrNotExist
// when it is not there, and ErrHashMismatch when the blob's content does not
// match the hash it is named by.
func (h hub) cached(f hubFile) (fetched, error) {
	commit := f.Revision
	if !isCommit(commit) {
		b, err := os.ReadFile(filepath.Join(h.repoDir(f), "refs", filepath.FromSlash(f.Revision)))
		if err != nil {
			return fetched{}, err
		}
		commit = strings.TrimSpace(string(b))
	}
	p := h.snapshotPath(f, commit)
	sum, err := fileSHA256(p)
	if err != nil {
		return fetched{}, err
	}
	// The blob's name is its Hub etag; where that is a SHA-256 (LFS files),
	// check it. A plain file copied into snapshots/ has no blob to check.
	if target, err := filepath.EvalSymlinks(p); err == nil && target != p {
		if etag := filepath.Base(target); isSHA256(etag) && etag != sum {
			return fetched{}, fmt.Errorf("%w: cached %s has SHA-256 %s, not %s; delete it to download it again", ErrHashMismatch, target, sum, etag)
		}
	}
	return fetched{Path: p, Commit: commit, SHA256: sum}, nil
}

// meta is what the Hub says about a file before it is downloaded.
type meta struct {
	commit   string
	etag     string
	size     int64
	location string // where the content is served (the redirect target)
}

func (h hub) download(ctx context.Context, f hubFile) (fetched, error) {
	m, err := h.head(ctx, f)
	if err != nil {
		return fetched{}, err
	}
	blobs := filepath.Join(h.repoDir(f), "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return fetched{}, err
	}
	blob := filepath.Join(blobs, m.etag)
	if _, err := os.Stat(blob); err != nil {
		incomplete := blob + ".incomplete"
		var derr error
		for attempt := 1; attempt <= downloadAttempts; attempt++ {
			if derr = h.get(ctx, m.location, incomplete); derr == nil || ctx.Err() != nil || !retryable(derr) {
				break
			}
		}
		if derr != nil {
			return fetched{}, h.unavailable(f, derr)
		}
		if err := verify(incomplete, m); err != nil {
			_ = os.Remove(incomplete)
			return fetched{}, fmt.Errorf("download %s: %w", h.url(f), err)
		}
		if err := os.Rename(incomplete, blob); err != nil {
			return fetched{}, err
		}
	}
	snap := h.snapshotPath(f, m.commit)
	if err := linkBlob(blob, snap); err != nil {
		return fetched{}, err
	}
	if f.Revision != m.commit {
		ref := filepath.Join(h.repoDir(f), "refs", filepath.FromSlash(f.Revision))
		if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
			return fetched{}, err
		}
		if err := os.WriteFile(ref, []byte(m.commit), 0o644); err != nil {
			return fetched{}, err
		}
	}
	return h.cached(hubFile{Repo: f.Repo, Revision: m.commit, Filename: f.Filename})
}

// head asks the Hub for the file's commit, etag and size without following
// the redirect, whose target's headers describe the storage, not the file.
func (h hub) head(ctx context.Context, f hubFile) (meta, error) {
	u := h.url(f)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return meta{}, err
	}
	h.authorize(req, true)
	req.Header.Set("Accept-Encoding", "identity")
	client := *h.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is already in the message
		}
		return meta{}, h.unavailable(f, err)
	}
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return meta{}, h.unavailable(f, fmt.Errorf("HTTP %d: access denied (set HF_TOKEN or log in with huggingface-cli if the dataset is gated)", resp.StatusCode))
	case resp.StatusCode == http.StatusNotFound:
		return meta{}, h.unavailable(f, fmt.Errorf("HTTP 404: no file %s at revision %s", f.Filename, f.Revision))
	case resp.StatusCode >= 400:
		return meta{}, h.unavailable(f, fmt.Errorf("HTTP %d", resp.StatusCode))
	}
	m := meta{
		commit:   resp.Header.Get("X-Repo-Commit"),
		etag:     normalizeETag(firstHeader(resp.Header, "X-Linked-Etag", "ETag")),
		location: u,
	}
	m.size, _ = strconv.ParseInt(firstHeader(resp.Header, "X-Linked-Size", "Content-Length"), 10, 64)
	if resp.StatusCode >= 300 {
		loc, err := resp.Location()
		if err != nil {
			return meta{}, h.unavailable(f, fmt.Errorf("redirect without a location: %w", err))
		}
		m.location = loc.String()
	}
	if m.commit == "" && isCommit(f.Revision) {
		m.commit = f.Revision
	}
	if !isCommit(m.commit) || m.etag == "" || strings.ContainsAny(m.etag, `/\`) {
		return meta{}, fmt.Errorf("%s: the server's answer lacks X-Repo-Commit or ETag; is %s a Hugging Face Hub endpoint?", u, h.endpoint)
	}
	return m, nil
}

// get downloads u into dst, resuming after the bytes dst already holds.
func (h hub) get(ctx context.Context, u, dst string) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	have, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	h.authorize(req, false)
	req.Header.Set("Accept-Encoding", "identity")
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0 && rangeStart(resp.Header.Get("Content-Range")) == have:
		// Resume: append.
	case resp.StatusCode == http.StatusOK:
		if err := out.Truncate(0); err != nil {
			return err
		}
		if _, err := out.Seek(0, io.SeekStart); err != nil {
			return err
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// The partial file is as long as (or longer than) the content;
		// verification decides whether it is whole.
		return nil
	default:
		return &statusError{code: resp.StatusCode}
	}
	w := bufio.NewWriter(out)
	if _, err := io.Copy(w, resp.Body); err != nil {
		_ = w.Flush()
		return fmt.Errorf("download interrupted: %w", err)
	}
	return w.Flush()
}

// authorize sets the bearer token on requests to the Hub itself; a redirect
// target on another host (the CDN) never sees it.
func (h hub) authorize(req *http.Request, toHub bool) {
	if h.token == "" {
		return
	}
	if !toHub {
		hubURL, err := url.Parse(h.endpoint)
		if err != nil || hubURL.Host != req.URL.Host {
			return
		}
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
}

type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

// retryable is true for broken connections and server errors, false for
// client errors (which a retry would repeat).
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500
	}
	return true
}

// unavailable is the one-line error for a file that can be neither
// downloaded nor found in the cache: the URL, why, and how to pre-seed the
// cache on a machine without network.
func (h hub) unavailable(f hubFile, why error) error {
	rev := f.Revision
	return fmt.Errorf("%w: cannot fetch %s: %w; to pre-seed the cache, copy the file to %s "+
		"(or run `huggingface-cli download --repo-type dataset --revision %s %s %s` where there is network and copy %s here)",
		ErrDatasetUnavailable, h.url(f), why, h.snapshotPath(f, rev), rev, f.Repo, f.Filename, h.repoDir(f))
}

// verify checks a download against the size and etag the Hub announced: an
// LFS etag is the content's SHA-256, a plain git etag its git blob SHA-1.
func verify(p string, m meta) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if m.size > 0 && st.Size() != m.size {
		return fmt.Errorf("%w: got %d bytes, the Hub announced %d", ErrHashMismatch, st.Size(), m.size)
	}
	var hsh hash.Hash
	switch {
	case isSHA256(m.etag):
		hsh = sha256.New()
	case isCommit(m.etag):
		hsh = sha1.New()
		fmt.Fprintf(hsh, "blob %d\x00", st.Size())
	default:
		return nil // an etag that is not a content hash: the size check is all there is
	}
	file, err := os.Open(p)
	if err != nil {
		return err
	}
	defer file.Close()
	if _, err := io.Copy(hsh, file); err != nil {
		return err
	}
	if got := hex.EncodeToString(hsh.Sum(nil)); got != m.etag {
		return fmt.Errorf("%w: content hash %s, the Hub announced %s", ErrHashMismatch, got, m.etag)
	}
	return nil
}

// linkBlob points the snapshot path at the blob with a relative symlink, as
// huggingface_hub does, or copies it where symlinks are not available.
func linkBlob(blob, snap string) error {
	if err := os.MkdirAll(filepath.Dir(snap), 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(snap); err == nil {
		if err := os.Remove(snap); err != nil {
			return err
		}
	}
	rel, err := filepath.Rel(filepath.Dir(snap), blob)
	if err == nil && os.Symlink(rel, snap) == nil {
		return nil
	}
	in, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(snap)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func firstHeader(h http.Header, keys ...string) string {
	for _, k := range keys {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func normalizeETag(s string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(s), "W/"), `"`)
}

// rangeStart parses the first byte position of "bytes START-END/SIZE".
func rangeStart(contentRange string) int64 {
	s, ok := strings.CutPrefix(contentRange, "bytes ")
	if !ok {
		return -1
	}
	start, _, _ := strings.Cut(s, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isCommit(s string) bool { return isHex(s, 40) }
func isSHA256(s string) bool { return isHex(s, 64) }
