package openai

import (
	"bufio"
	"bytes"
	"io"
)

// sseReader reads server-sent events, returning each event's data (data
// lines joined with newlines). Comments and other fields are skipped.
type sseReader struct {
	r     *bufio.Reader
	event string
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: bufio.NewReaderSize(r, 64<<10)} }

// next returns the next event's type ("" for a plain message) and data.
// It returns io.EOF at the end of the stream.
func (s *sseReader) next() (event string, data []byte, err error) {
	var buf bytes.Buffer
	have := false
	s.event = ""
	for {
		line, err := s.r.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if have {
				return s.event, buf.Bytes(), nil
			}
			return "", nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if have {
				return s.event, buf.Bytes(), nil
			}
		case line[0] == ':':
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "data":
				if have {
					buf.WriteByte('\n')
				}
				buf.Write(value)
				have = true
			case "event":
				s.event = string(value)
			}
		}
		if err != nil {
			if have {
				return s.event, buf.Bytes(), nil
			}
			return "", nil, err
		}
	}
}
