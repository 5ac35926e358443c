package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/engine"
	"github.com/llenergymeasure/llem/results"
)

// loadFile reads a jsonl or sharegpt prompt file. Its identity is the
// SHA-256 of its bytes; the path is machine-local and stays out of it.
func loadFile(kind, path string) ([]item, results.DatasetInfo, error) {
	if path == "" {
		return nil, results.DatasetInfo{}, fmt.Errorf("dataset %s: no path given (set dataset.path)", kind)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, results.DatasetInfo{}, fmt.Errorf("dataset %s: %w", kind, err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var pool []item
	params := map[string]any{"format": kind}
	switch kind {
	case config.DatasetJSONL:
		pool, err = parseJSONL(path, data)
	default:
		var skipped int
		pool, skipped, err = parseShareGPT(path, data)
		if skipped > 0 {
			params["skipped_without_human_turn"] = skipped
		}
	}
	if err != nil {
		return nil, results.DatasetInfo{}, err
	}
	if len(pool) == 0 {
		return nil, results.DatasetInfo{}, fmt.Errorf("%s: no prompts in file", path)
	}
	sum := sha256.Sum256(data)
	return pool, results.DatasetInfo{Name: kind, SHA256: hex.EncodeToString(sum[:]), Params: params}, nil
}

// jsonlRecord is one line of a jsonl prompt file: exactly one of Prompt and
// Messages. ID, Source (used by interleaved and grouped ordering) and
// MaxNewTokens are optional; other fields are ignored.
type jsonlRecord struct {
	ID           string           `json:"id"`
	Prompt       *string          `json:"prompt"`
	Messages     []engine.Message `json:"messages"`
	Source       string           `json:"source"`
	MaxNewTokens int              `json:"max_new_tokens"`
}

func parseJSONL(path string, data []byte) ([]item, error) {
	var pool []item
	ids := map[string]int{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		line = bytes.TrimRight(line, " \t\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec jsonlRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			off, what := jsonError(err)
			if off >= 0 {
				return nil, fmt.Errorf("%s:%d:%d: %s", path, lineNo, off, what)
			}
			return nil, fmt.Errorf("%s:%d: %s", path, lineNo, what)
		}
		p, err := rec.prompt()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, lineNo, err)
		}
		if p.ID == "" {
			p.ID = fmt.Sprintf("line-%d", lineNo)
		}
		if prev, dup := ids[p.ID]; dup {
			return nil, fmt.Errorf("%s:%d: id %q already used on line %d", path, lineNo, p.ID, prev)
		}
		ids[p.ID] = lineNo
		pool = append(pool, item{prompt: p, source: rec.Source})
	}
	return pool, nil
}

func (r jsonlRecord) prompt() (engine.Prompt, error) {
	p := engine.Prompt{ID: r.ID, MaxNewTokens: r.MaxNewTokens}
	switch {
	case r.MaxNewTokens < 0:
		return p, fmt.Errorf(`"max_new_tokens" must not be negative, got %d`, r.MaxNewTokens)
	case r.Prompt != nil && r.Messages != nil:
		return p, errors.New(`both "prompt" and "messages" given; use one`)
	case r.Prompt != nil:
		if strings.TrimSpace(*r.Prompt) == "" {
			return p, errors.New(`empty "prompt"`)
		}
		p.Text = *r.Prompt
		return p, nil
	case r.Messages != nil:
		return chatPrompt(p, r.Messages)
	default:
		return p, errors.New(`no "prompt" or "messages" field`)
	}
}

// chatPrompt checks a chat and sets Text, for engines without chat support,
// to the turns' contents separated by blank lines.
func chatPrompt(p engine.Prompt, msgs []engine.Message) (engine.Prompt, error) {
	hasUser := false
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return p, fmt.Errorf("messages[%d]: role %q: want system, user or assistant", i, m.Role)
		}
		if strings.TrimSpace(m.Content) == "" {
			return p, fmt.Errorf("messages[%d]: empty content", i)
		}
		hasUser = hasUser || m.Role == "user"
		texts[i] = m.Content
	}
	if !hasUser {
		return p, errors.New(`"messages" has no user turn`)
	}
	p.Messages = msgs
	p.Text = strings.Join(texts, "\n\n")
	return p, nil
}

// shareGPTEntry is one conversation of a ShareGPT-style file.
type shareGPTEntry struct {
	ID            string `json:"id"`
	Conversations []struct {
		From  string `json:"from"`
		Value string `json:"value"`
	} `json:"conversations"`
}

// parseShareGPT reads a JSON array of conversations and keeps each one's
// first human turn. Conversations without a human turn are skipped and
// counted; a file where every one is skipped is an error.
func parseShareGPT(path string, data []byte) ([]item, int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(off int64, format string, args ...any) error {
		line, col := position(data, off)
		return fmt.Errorf("%s:%d:%d: %s", path, line, col, fmt.Sprintf(format, args...))
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err != nil {
			return nil, 0, fileJSONError(path, data, err)
		}
		return nil, 0, fail(dec.InputOffset(), "want a JSON array of conversations, found %v", tok)
	}
	var pool []item
	skipped := 0
	for dec.More() {
		start := dec.InputOffset()
		var e shareGPTEntry
		if err := dec.Decode(&e); err != nil {
			// A streaming decoder's offsets count from the current value;
			// decoding the whole file places the error in it.
			if uerr := json.Unmarshal(data, new([]shareGPTEntry)); uerr != nil {
				err = uerr
			}
			return nil, 0, fileJSONError(path, data, err)
		}
		n := len(pool) + skipped
		text := ""
		for _, turn := range e.Conversations {
			if turn.From == "human" || turn.From == "user" {
				text = turn.Value
				break
			}
		}
		if strings.TrimSpace(text) == "" {
			if e.Conversations == nil {
				// Skip the separator so the offset points at the entry.
				line, _ := position(data, start)
				return nil, 0, fmt.Errorf("%s:%d: conversation %d has no \"conversations\" list", path, line+leadingNewlines(data, start), n)
			}
			skipped++
			continue
		}
		id := e.ID
		if id == "" {
			id = fmt.Sprintf("conversation-%d", n)
		}
		pool = append(pool, item{prompt: engine.Prompt{ID: id, Text: text}})
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fileJSONError(path, data, err)
	}
	if len(pool) == 0 && skipped > 0 {
		return nil, skipped, fail(0, "none of %d conversations has a human turn (is this a ShareGPT file?)", skipped)
	}
	return pool, skipped, nil
}

// jsonError says what is wrong in a JSON decoding error and where: the
// byte offset it carries, or -1 when it carries none.
func jsonError(err error) (offset int64, what string) {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return syn.Offset, "invalid JSON: " + syn.Error()
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return typ.Offset, fmt.Sprintf("%s is a JSON %s, want %s", field, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return -1, "unexpected end of file (truncated JSON?)"
	default:
		return -1, err.Error()
	}
}

// fileJSONError places a JSON error of a whole-file decode as path:line:col.
func fileJSONError(path string, data []byte, err error) error {
	off, what := jsonError(err)
	if off < 0 {
		return fmt.Errorf("%s: %s", path, what)
	}
	line, col := position(data, off)
	return fmt.Errorf("%s:%d:%d: %s", path, line, col, what)
}

// position gives the 1-based line and column of the last byte read when a
// decoder has read off bytes: the offending byte of a syntax error, the last
// byte of a value of the wrong type.
func position(data []byte, off int64) (line, col int) {
	at := min(max(off-1, 0), int64(len(data)))
	before := data[:at]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(at) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// leadingNewlines counts the newlines between off and the next non-space
// byte, so a position taken before a value's leading whitespace lands on
// the value's own line.
func leadingNewlines(data []byte, off int64) int {
	n := 0
	for _, b := range data[min(max(off, 0), int64(len(data))):] {
		switch b {
		case '\n':
			n++
		case ' ', '\t', '\r', ',':
		default:
			return n
		}
	}
	return n
}
