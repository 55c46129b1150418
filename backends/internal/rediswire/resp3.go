package rediswire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// trackPing is how often a raw tracking connection PINGs its server; a
// connection that reads nothing for three times as long is lost.
const trackPing = 5 * time.Second

// Limits on what a server may send a tracking connection, so that hostile
// bytes cost a bounded amount of memory: a lost connection, never a panic.
const (
	maxBulk   = 64 << 20
	maxArray  = 1 << 20
	maxDepth  = 8
	maxLineSz = 64 << 10
)

// errProtocol is wrapped by errors about bytes that are not RESP3.
var errProtocol = errors.New("rediswire: protocol error")

// respError is an error reply of the server.
type respError string

func (e respError) Error() string { return string(e) }

// respPush is a RESP3 push (">"): out-of-band data such as invalidations.
type respPush []any

// rawTrack is a tracking connection spoken over a plain net.Conn: HELLO 3,
// CLIENT TRACKING ON BCAST PREFIX, then a reader of pushes.
type rawTrack struct {
	conn   net.Conn
	lost   chan error
	done   chan struct{} // closed when the reader has returned
	stop   chan struct{}
	closer sync.Once
}

// DialTracking opens a tracking connection on conn (dialled by the caller,
// TLS included): it sends HELLO 3 with AUTH when password or user is set,
// turns tracking on in broadcasting mode for keys starting with prefix,
// and then calls report with the keys each invalidation push names (nil
// for a flush). report is called from one goroutine, never after Close
// returns.
func DialTracking(ctx context.Context, conn net.Conn, user, password, prefix string, report func([]string)) (TrackConn, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	r := bufio.NewReader(conn)
	hello := []string{"HELLO", "3"}
	if password != "" {
		if user == "" {
			user = "default"
		}
		hello = append(hello, "AUTH", user, password)
	}
	hello = append(hello, "SETNAME", "cachette-tracking")
	for _, cmd := range [][]string{hello, {"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", prefix}} {
		if _, err := conn.Write(encodeCommand(cmd)); err != nil {
			conn.Close()
			return nil, err
		}
		for {
			v, err := readValue(r, 0)
			if err != nil {
				conn.Close()
				return nil, fmt.Errorf("%s: %w", cmd[0], err)
			}
			if _, ok := v.(respPush); ok {
				continue
			}
			if e, ok := v.(respError); ok {
				conn.Close()
				return nil, fmt.Errorf("%s: %w", cmd[0], e)
			}
			break
		}
	}
	_ = conn.SetDeadline(time.Time{})
	t := &rawTrack{conn: conn, lost: make(chan error, 1), done: make(chan struct{}), stop: make(chan struct{})}
	go t.read(r, report)
	go t.ping()
	return t, nil
}

func (t *rawTrack) read(r *bufio.Reader, report func([]string)) {
	defer close(t.done)
	for {
		_ = t.conn.SetReadDeadline(time.Now().Add(3 * trackPing))
		v, err := readValue(r, 0)
		if err != nil {
			select {
			case <-t.stop:
			default:
				t.lost <- err
			}
			return
		}
		p, ok := v.(respPush)
		if !ok || len(p) < 2 {
			continue // a PONG, or a push of another kind
		}
		if kind, _ := p[0].(string); kind != "invalidate" {
			continue
		}
		switch keys := p[1].(type) {
		case nil:
			report(nil)
		case []any:
			out := make([]string, 0, len(keys))
			for _, k := range keys {
				if s, ok := k.(string); ok {
					out = append(out, s)
				}
			}
			report(out)
		}
	}
}

func (t *rawTrack) ping() {
	tick := time.NewTicker(trackPing)
	defer tick.Stop()
	cmd := encodeCommand([]string{"PING"})
	for {
		select {
		case <-t.stop:
			return
		case <-t.done:
			return
		case <-tick.C:
			_ = t.conn.SetWriteDeadline(time.Now().Add(trackPing))
			if _, err := t.conn.Write(cmd); err != nil {
				_ = t.conn.Close() // the reader sees it and reports the loss
				return
			}
		}
	}
}

func (t *rawTrack) Lost() <-chan error { return t.lost }

func (t *rawTrack) Close() {
	t.closer.Do(func() {
		close(t.stop)
		_ = t.conn.Close()
	})
	<-t.done
}

func encodeCommand(args []string) []byte {
	b := make([]byte, 0, 64)
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// readValue reads one RESP2/RESP3 value: strings (simple, bulk, verbatim,
// numbers as text) as string, errors as respError, integers as int64,
// aggregates as []any (a map as its keys and values in turn), pushes as
// respPush, nulls as nil. Attributes are skipped.
func readValue(r *bufio.Reader, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deep", errProtocol)
	}
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, fmt.Errorf("%w: empty line", errProtocol)
	}
	kind, rest := line[0], string(line[1:])
	switch kind {
	case '+', ',', '(', '#':
		return rest, nil
	case '-':
		return respError(rest), nil
	case ':':
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: bad integer", errProtocol)
		}
		return n, nil
	case '_':
		return nil, nil
	case '$', '=', '!':
		n, err := strconv.Atoi(rest)
		if err != nil || n > maxBulk {
			return nil, fmt.Errorf("%w: bad length", errProtocol)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if kind == '!' {
			return respError(buf[:n]), nil
		}
		return string(buf[:n]), nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(rest)
		if err != nil || n > maxArray {
			return nil, fmt.Errorf("%w: bad length", errProtocol)
		}
		if n < 0 {
			return nil, nil
		}
		if kind == '%' || kind == '|' {
			n *= 2
		}
		out := make([]any, 0, min(n, 1024))
		for range n {
			v, err := readValue(r, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		switch kind {
		case '>':
			return respPush(out), nil
		case '|':
			return readValue(r, depth) // the value the attribute is about
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown type %q", errProtocol, kind)
}

func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: line too long", errProtocol)
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' || len(line) > maxLineSz {
		return nil, fmt.Errorf("%w: bad line end", errProtocol)
	}
	return line[:len(line)-2], nil
}
