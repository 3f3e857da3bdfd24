package pubs_test

import (
	"strings"
	"testing"

	"github.com/buttctl/buttctl/ops/pubs"
)

const key = "@FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=.ed25519"

func TestParseWhoami(t *testing.T) {
	for _, out := range []string{
		`{"id":"` + key + `"}`,
		"{\n  \"id\": \"" + key + "\"\n}\n",
		`"` + key + `"`,
		key + "\n",
	} {
		if got, err := pubs.ParseWhoami([]byte(out)); err != nil || got != key {
			t.Errorf("ParseWhoami(%q) = %q, %v", out, got, err)
		}
	}
	for _, out := range []string{"", "{}", `{"id":"@short.ed25519"}`, "Error: no server", key + " and more"} {
		if got, err := pubs.ParseWhoami([]byte(out)); err == nil {
			t.Errorf("ParseWhoami(%q) = %q", out, got)
		}
	}
}

func TestReadInviteAndReaddress(t *testing.T) {
	for out, want := range map[string]string{
		`"[::]:8008:` + key + `~c2VlZA=="`:                                          "pub.example.org:8009:" + key + "~c2VlZA==",
		`"172.17.0.5:8008:` + key + `~c2VlZA=="` + "\n":                             "pub.example.org:8009:" + key + "~c2VlZA==",
		"0.0.0.0:8008:" + key + "~c2VlZA==\n":                                       "pub.example.org:8009:" + key + "~c2VlZA==",
		`"net:[::]:8008~shs:FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=:c2VlZA=="`: "net:pub.example.org:8009~shs:FCX/tsDLpubCPKKfIrw4gc+SQkHcaD17s7GI6i/ziWY=:c2VlZA==",
	} {
		code, err := pubs.ReadInvite([]byte(out))
		if err != nil {
			t.Errorf("ReadInvite(%q): %v", out, err)
			continue
		}
		got, err := pubs.Readdress(code, "pub.example.org", 8009)
		if err != nil || got != want {
			t.Errorf("Readdress(%q) = %q, %v; want %q", code, got, err, want)
		}
	}
	if got, _ := pubs.Readdress("[::]:8008:"+key+"~x", "2001:db8::1", 8008); got != "[2001:db8::1]:8008:"+key+"~x" {
		t.Errorf("IPv6 public host: %q", got)
	}
	for _, bad := range []string{"", "error: not allowed", `"no address here"`} {
		code, err := pubs.ReadInvite([]byte(bad))
		if err == nil {
			_, err = pubs.Readdress(code, "h", 1)
		}
		if err == nil {
			t.Errorf("accepted invite output %q", bad)
		} else if strings.Contains(err.Error(), bad) && bad != "" {
			t.Errorf("error echoes the command's output: %v", err)
		}
	}
}
