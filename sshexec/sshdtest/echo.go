package sshdtest

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// EchoSocket serves a unix socket, in a directory of its own, that answers
// each connection's first line with "echo: " and the line: something to
// dial through streamlocal forwarding. It is closed and removed when the test
// ends.
func EchoSocket(t testing.TB) string {
	t.Helper()
	// Not t.TempDir: its long path could pass the 108-byte limit of a
	// socket's address.
	dir, err := os.MkdirTemp("", "sshdtest-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "echo.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "echo: "+line)
			}()
		}
	}()
	return sock
}
