package realparts

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Endpoint is a TCP endpoint on 127.0.0.1 in front of a server, as a DNS
// name in front of a database host: Aurora's cluster (writer) endpoint
// moves to the new writer in a failover, and a reader endpoint can become
// unreachable. It forwards bytes only, so TLS runs end to end between the
// client and the server (verify-full against 127.0.0.1 holds, since the
// client dials 127.0.0.1 and the server presents its own certificate).
type Endpoint struct {
	ln net.Listener

	mu      sync.Mutex
	target  string
	blocked bool
	open    chan struct{} // closed while not blocked
	conns   map[*link]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// link is one client connection and its connection to the target.
type link struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{}
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.client.Close()
		if l.server != nil {
			l.server.Close()
		}
	})
}

// NewEndpoint listens on a free loopback port and forwards to target
// (host:port).
func NewEndpoint(target string) (*Endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("realparts: endpoint: %w", err)
	}
	open := make(chan struct{})
	close(open)
	e := &Endpoint{ln: ln, target: target, open: open, conns: map[*link]struct{}{}}
	e.wg.Add(1)
	go e.accept()
	return e, nil
}

// Addr is 127.0.0.1:Port, what clients dial.
func (e *Endpoint) Addr() string { return e.ln.Addr().String() }

// Host is 127.0.0.1.
func (e *Endpoint) Host() string { return "127.0.0.1" }

// Port is the endpoint's port.
func (e *Endpoint) Port() int { return e.ln.Addr().(*net.TCPAddr).Port }

// Target is the address new connections are forwarded to.
func (e *Endpoint) Target() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.target
}

// Switch forwards new connections to target and closes every existing one
// (both sides), as a failover does: the old writer restarts, its
// connections break, and clients reconnect through the name, which now
// leads to the new writer.
func (e *Endpoint) Switch(target string) {
	e.mu.Lock()
	e.target = target
	conns := e.takeConns()
	e.mu.Unlock()
	for _, l := range conns {
		l.close()
	}
}

// Block makes the endpoint unreachable the way a lost host is: nothing is
// refused or reset, nothing answers. Bytes on existing connections stop
// flowing both ways, and new connections are accepted but go nowhere, so
// clients wait for their own deadlines.
func (e *Endpoint) Block() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.blocked {
		e.blocked = true
		e.open = make(chan struct{})
	}
}

// Unblock lets bytes flow again: stalled connections go on (as after a
// network partition heals) and held new ones are forwarded.
func (e *Endpoint) Unblock() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.blocked {
		e.blocked = false
		close(e.open)
	}
}

// Conns is the number of client connections open through the endpoint.
func (e *Endpoint) Conns() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}

// Close stops listening and closes every connection.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	e.closed = true
	conns := e.takeConns()
	e.mu.Unlock()
	err := e.ln.Close()
	for _, l := range conns {
		l.close()
	}
	e.wg.Wait()
	return err
}

func (e *Endpoint) takeConns() []*link {
	conns := make([]*link, 0, len(e.conns))
	for l := range e.conns {
		conns = append(conns, l)
	}
	e.conns = map[*link]struct{}{}
	return conns
}

// gate returns the channel that is closed while the endpoint is not
// blocked.
func (e *Endpoint) gate() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.open
}

// wait blocks while the endpoint is blocked; false if l closed meanwhile.
func (e *Endpoint) wait(l *link) bool {
	for {
		select {
		case <-l.done:
			return false
		case <-e.gate():
		}
		// Re-check: Block may have run between the gate opening and now.
		e.mu.Lock()
		blocked := e.blocked
		e.mu.Unlock()
		if !blocked {
			return true
		}
	}
}

func (e *Endpoint) accept() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l := &link{client: c, done: make(chan struct{})}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			c.Close()
			return
		}
		e.conns[l] = struct{}{}
		e.mu.Unlock()
		e.wg.Add(1)
		go e.serve(l)
	}
}

func (e *Endpoint) serve(l *link) {
	defer e.wg.Done()
	defer func() {
		e.mu.Lock()
		delete(e.conns, l)
		e.mu.Unlock()
		l.close()
	}()
	if !e.wait(l) {
		return
	}
	target := e.Target()
	server, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		return // the client sees the connection closed, as by a refusal
	}
	e.mu.Lock()
	_, live := e.conns[l]
	if live {
		l.server = server
	}
	e.mu.Unlock()
	if !live { // cut by Switch or Close while dialling
		server.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { e.pipe(l, server, l.client); done <- struct{}{} }()
	go func() { e.pipe(l, l.client, server); done <- struct{}{} }()
	<-done // either side ended: end both
}

// pipe copies src to dst, holding each chunk while the endpoint is blocked.
func (e *Endpoint) pipe(l *link, dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !e.wait(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// String is "endpoint 127.0.0.1:port -> target".
func (e *Endpoint) String() string {
	return "endpoint " + net.JoinHostPort(e.Host(), strconv.Itoa(e.Port())) + " -> " + e.Target()
}
