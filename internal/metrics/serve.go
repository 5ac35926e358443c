package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// CheckAddr checks that addr is HOST:PORT with both given: an empty host
// would listen on every interface, which llem never does unasked.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics %q: want HOST:PORT, e.g. 127.0.0.1:9464: %v", addr, err)
	}
	if host == "" {
		return fmt.Errorf("--metrics %q: give the host, e.g. 127.0.0.1%s (an empty host would listen on every interface; name 0.0.0.0 to mean it)", addr, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("--metrics %q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// Server serves an Exporter's /metrics.
type Server struct {
	ln  net.Listener
	srv *http.Server
	// done is closed when Serve returned.
	done chan struct{}
}

// Serve listens on addr now (so an address in use is an error here) and
// serves /metrics from e until Close.
func Serve(addr string, e *Exporter) (*Server, error) {
	if err := CheckAddr(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "llem metrics: see /metrics")
	})
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the address served, with the port chosen when addr's was 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops serving, letting a scrape in progress finish (at most a
// second).
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return err
}
