package inventory

import (
	"testing"
	"time"
)

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"512m": 512 << 20, "1g": 1 << 30, "1G": 1 << 30, "64k": 64 << 10, "1048576": 1 << 20, "512MiB": 512 << 20, "2gb": 2 << 30, " 7m ": 7 << 20} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1m", "1.5g", "lots", "99999999999999999999", "8t8"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", in)
		}
	}
	for b, want := range map[ByteSize]string{512 << 20: "512m", 1 << 30: "1g", 1000: "1000", 1536 << 20: "1536m", 0: "0"} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), got, want)
		}
		if back, err := ParseByteSize(b.String()); err != nil || back != b {
			t.Errorf("%s does not read back: %v %v", b, back, err)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Minute: "1h30m", 30 * time.Second: "30s", 1500 * time.Millisecond: "1.5s", 0: "0s", time.Hour + time.Second: "1h0m1s"} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(Duration(d).String()); err != nil || back.D() != d {
			t.Errorf("%v does not read back: %v %v", d, back, err)
		}
	}
}
