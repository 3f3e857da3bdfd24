package inventory

import (
	"net/netip"
	"regexp"
	"strings"
	"unicode"
)

// MaxNameLen is the longest hub or pub name: one DNS label.
const MaxNameLen = 63

// IsDNSLabel reports whether s can name a hub or pub: an RFC 1123 label in
// lowercase (a-z, 0-9 and '-', 1 to 63 characters, not starting or ending
// with '-'). Container, volume and host names are derived from it, so nothing
// else may get through.
func IsDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// suggestLabel turns s into the nearest DNS label ("" when nothing is left).
func suggestLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := b.String()
	if len(out) > MaxNameLen {
		out = out[:MaxNameLen]
	}
	return strings.Trim(out, "-")
}

// isHostname reports whether s is an RFC 1123 host name (any case).
func isHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !IsDNSLabel(strings.ToLower(l)) {
			return false
		}
	}
	return true
}

// isAddress reports whether s is an IP address or a host name.
func isAddress(s string) bool {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Zone() == "" || !strings.ContainsAny(a.Zone(), " \t/")
	}
	return isHostname(s)
}

// imageRef is a Docker image reference: [registry[:port]/]path[:tag][@digest].
var imageRef = func() *regexp.Regexp {
	const (
		domainPart = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		domain     = domainPart + `(?:\.` + domainPart + `)*(?::[0-9]+)?`
		pathPart   = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
		tag        = `[\w][\w.-]{0,127}`
		digest     = `[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}`
	)
	return regexp.MustCompile(`^(?:` + domain + `/)?` + pathPart + `(?:/` + pathPart + `)*(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// IsImageRef reports whether s is a Docker image reference such as
// ahdinosaur/ssb-pub, ahdinosaur/ssb-pub:latest or registry:5000/team/pub@sha256:....
func IsImageRef(s string) bool {
	if len(s) > 512 || !imageRef.MatchString(s) {
		return false
	}
	// As Docker: a first component is a registry only if it has a '.' or a
	// ':' or is localhost; otherwise it is part of the path, all lowercase.
	first, _, hasSlash := strings.Cut(s, "/")
	isDomain := hasSlash && (strings.ContainsAny(first, ".:") || first == "localhost")
	return isDomain || first == strings.ToLower(first)
}

// ImageRepository returns the repository of an image reference, without tag
// or digest and without Docker Hub's implied prefixes: "docker.io/library/x:1"
// and "x" both give "x".
func ImageRepository(ref string) string {
	repo, _ := splitImageRef(ref)
	return repo
}

// splitImageRef splits ref into its normalised repository and its tag ("" if none).
func splitImageRef(ref string) (repo, tag string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref, tag = ref[:i], ref[i+1:]
	}
	for _, p := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		if rest, ok := strings.CutPrefix(ref, p); ok {
			ref = rest
			break
		}
	}
	ref = strings.TrimPrefix(ref, "library/")
	return ref, tag
}

var (
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	userName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$`)
)

// hasControl reports whether s holds a control character (newline, NUL, escape...).
func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// isJump reports whether s looks like OpenSSH's ProxyJump: [user@]host[:port][,...].
func isJump(s string) bool {
	if s == "" || strings.HasPrefix(s, "-") || hasControl(s) || strings.ContainsAny(s, " \t'\"`$;&|<>\\") {
		return false
	}
	for _, hop := range strings.Split(s, ",") {
		if user, host, ok := strings.Cut(hop, "@"); ok {
			if !userName.MatchString(user) {
				return false
			}
			hop = host
		}
		if strings.HasPrefix(hop, "[") { // [v6addr]:port
			end := strings.IndexByte(hop, ']')
			if end < 0 || !isAddress(hop[1:end]) {
				return false
			}
			hop = strings.TrimPrefix(hop[end+1:], ":")
			if hop != "" && !isPortText(hop) {
				return false
			}
			continue
		}
		host, port, hasPort := strings.Cut(hop, ":")
		if !isAddress(host) || hasPort && !isPortText(port) {
			return false
		}
	}
	return true
}

func isPortText(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n >= 1 && n <= 65535
}

// closest returns the candidate nearest to s (by edit distance, ignoring case,
// '-' and '_'), or "" if none is near enough to be a likely typo.
func closest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(x))
	}
	ns := norm(s)
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(ns, norm(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, len(ns)/3)
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
