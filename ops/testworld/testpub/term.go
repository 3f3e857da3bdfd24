package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"
)

// The commands for tests of exec: cat copies stdin to stdout (saying
// "cat: ready" first when stdin is a terminal, so a test knows its input is
// read); tty reports the terminal's size as the kernel sees it; winch
// reports it, then again once it changes.

func cat(stdin io.Reader, stdout io.Writer) error {
	if _, err := termSize(0); err == nil {
		fmt.Fprintln(stdout, "cat: ready")
	}
	_, err := io.Copy(stdout, stdin)
	return err
}

// ttyReport prints "notty", or "tty COLSxROWS". The engine may set the size
// just after the start (engines before API 1.42): it waits up to 3s for a
// non-zero one.
func ttyReport(stdout io.Writer) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		ws, err := termSize(0)
		if err != nil {
			_, err = fmt.Fprintln(stdout, "notty")
			return err
		}
		if ws.col != 0 || time.Now().After(deadline) {
			_, err = fmt.Fprintf(stdout, "tty %dx%d\n", ws.col, ws.row)
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// winch prints the size (as tty), then "resized COLSxROWS" once SIGWINCH
// brings another one; it gives up after 30s.
func winch(stdout io.Writer) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	defer signal.Stop(sig)
	if err := ttyReport(stdout); err != nil {
		return err
	}
	first, err := termSize(0)
	if err != nil {
		return err
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case <-sig:
		case <-timeout:
			return errors.New("the terminal's size did not change within 30s")
		}
		ws, err := termSize(0)
		if err != nil {
			return err
		}
		if ws != first {
			_, err = fmt.Fprintf(stdout, "resized %dx%d\n", ws.col, ws.row)
			return err
		}
	}
}

// winsize is the kernel's struct winsize.
type winsize struct{ row, col, xpixel, ypixel uint16 }

// termSize asks the kernel for the size of the terminal on fd (TIOCGWINSZ);
// it fails when fd is not a terminal.
func termSize(fd int) (winsize, error) {
	var ws winsize
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return ws, errno
	}
	return ws, nil
}
