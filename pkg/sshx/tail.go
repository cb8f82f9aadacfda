package sshx

import "bytes"

// StderrTail is how many bytes of a command's stderr an ExitError keeps.
const StderrTail = 4 << 10

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func newTail(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// Bytes returns a copy of the kept tail.
func (t *tailBuffer) Bytes() []byte { return bytes.Clone(t.buf) }

// capBuffer keeps the first max bytes and counts the rest without failing
// the write: a failing writer would stall the remote command on a full
// channel window until its timeout, hiding the real problem.
type capBuffer struct {
	max      int
	buf      bytes.Buffer
	overflow bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if len(p) > room {
		c.overflow = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}
