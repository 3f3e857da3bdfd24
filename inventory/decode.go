package inventory

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into an Inventory strictly, collecting every
// problem instead of stopping at the first, and remembering where each value
// was written so later checks can point at it.
type decoder struct {
	file  string
	probs []Problem
	// nodes holds the value node of every decoded path ("hubs.1.address");
	// "" is the top-level mapping.
	nodes map[string]*yaml.Node
	// failed holds the paths whose value could not be decoded (already
	// reported), so later checks don't pile more problems on them.
	failed map[string]bool
	// suggested holds the paths an unknown key was probably meant to be
	// ("hubs.0.address" for adress:), so they are not also reported missing.
	suggested map[string]bool
	work      int
}

// maxDecodeWork bounds the nodes visited, so aliases cannot blow up decoding.
const maxDecodeWork = 200000

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
)

func newDecoder(file string) *decoder {
	return &decoder{file: file, nodes: map[string]*yaml.Node{}, failed: map[string]bool{}, suggested: map[string]bool{}}
}

// maxProblems is how many problems one file may report; past it, fixing the
// first ones is the way on.
const maxProblems = 200

func (d *decoder) problemAt(n *yaml.Node, format string, a ...any) {
	if len(d.probs) >= maxProblems {
		if len(d.probs) == maxProblems {
			d.probs = append(d.probs, Problem{File: d.file, Line: d.probs[maxProblems-1].Line,
				Msg: fmt.Sprintf("more than %d problems; fix these first", maxProblems)})
		}
		return
	}
	p := Problem{File: d.file, Msg: escapeControl(fmt.Sprintf(format, a...))}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	d.probs = append(d.probs, p)
}

// show writes a value from the file as is when it is plain, quoted when it
// holds spaces, quotes or control characters.
func show(s string) string {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// escapeControl makes sure a message is one line and cannot drive a terminal.
func escapeControl(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// at returns the node recorded for path, or for its nearest recorded parent.
func (d *decoder) at(path string) *yaml.Node {
	for {
		if n, ok := d.nodes[path]; ok {
			return n
		}
		if path == "" {
			return nil
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
	}
}

// has reports whether the file wrote a value at path.
func (d *decoder) has(path string) bool {
	_, ok := d.nodes[path]
	return ok
}

// line is the line path was written on (0 if unknown).
func (d *decoder) line(path string) int {
	if n := d.at(path); n != nil {
		return n.Line
	}
	return 0
}

// label turns a path ("hubs.1.port") into what the user reads ("hubs[1].port").
func label(path string) string {
	if path == "" {
		return "the top level"
	}
	var b strings.Builder
	for i, part := range strings.Split(path, ".") {
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows aliases and counts the work done.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		d.work++
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "text"
		case "!!int":
			return "a number"
		case "!!float":
			return "a decimal number"
		case "!!bool":
			return "true/false"
		case "!!null":
			return "empty"
		}
		return "a " + show(n.ShortTag()) + " value"
	}
	return "an unknown node"
}

// value decodes n into v; path names where n sits.
func (d *decoder) value(path string, n *yaml.Node, v reflect.Value) {
	d.work++
	if d.work > maxDecodeWork {
		if d.work == maxDecodeWork+1 {
			d.problemAt(n, "the inventory is too large or uses too many aliases; write it out plainly")
		}
		return
	}
	n = d.resolve(n)
	if n == nil {
		return
	}
	d.nodes[path] = n
	before := len(d.probs)
	defer func() {
		if len(d.probs) > before {
			d.failed[path] = true
		}
	}()
	if isNull(n) {
		return
	}
	if n.Tag != "" && n.Tag != "!" && strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		d.problemAt(n, "%s: custom YAML tag %s is not supported; remove it", label(path), show(n.Tag))
		return
	}
	switch v.Type() {
	case durationType:
		if !d.scalar(path, n, "a duration such as 30s") {
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.problemAt(n, "%s: %v", label(path), err)
			return
		}
		v.SetInt(int64(dur))
		return
	case byteSizeType:
		if !d.scalar(path, n, "a memory size such as 512m") {
			return
		}
		b, err := ParseByteSize(n.Value)
		if err != nil {
			d.problemAt(n, "%s: %v", label(path), err)
			return
		}
		v.SetInt(int64(b))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(path, n, v.Elem())
	case reflect.Struct:
		d.mapping(path, n, v)
	case reflect.Slice:
		d.list(path, n, v)
	case reflect.Map:
		d.stringMap(path, n, v)
	case reflect.String:
		if !d.scalar(path, n, "text") {
			return
		}
		switch n.ShortTag() {
		case "!!bool":
			d.problemAt(n, "%s: %s is true/false, not text; quote it if you mean the text: %q", label(path), n.Value, n.Value)
			return
		case "!!binary":
			d.problemAt(n, "%s: binary values are not supported; write plain text", label(path))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		if !d.scalar(path, n, "a whole number") {
			return
		}
		if n.ShortTag() != "!!int" {
			d.problemAt(n, "%s: %q is %s, not a whole number; write a number without quotes, e.g. %s: %s",
				label(path), n.Value, kindName(n), lastKey(path), exampleNumber(path))
			return
		}
		var i int32
		if err := n.Decode(&i); err != nil {
			d.problemAt(n, "%s: %s is out of range; write a number such as %s", label(path), show(n.Value), exampleNumber(path))
			return
		}
		v.SetInt(int64(i))
	case reflect.Bool:
		if !d.scalar(path, n, "true or false") {
			return
		}
		if n.ShortTag() != "!!bool" {
			d.problemAt(n, "%s: %q is not true or false; write %s: true or %s: false", label(path), n.Value, lastKey(path), lastKey(path))
			return
		}
		v.SetBool(strings.EqualFold(n.Value, "true"))
	default:
		d.problemAt(n, "%s: buttctl cannot decode this field (%s); please report it", label(path), v.Type())
	}
}

func lastKey(path string) string {
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		if _, err := strconv.Atoi(parts[i]); err != nil {
			return parts[i]
		}
	}
	return path
}

func exampleNumber(path string) string {
	switch lastKey(path) {
	case "port":
		return "8008"
	case "capacity":
		return "20"
	case "version":
		return "1"
	}
	return "3"
}

// scalar checks that n is a scalar; want says what was expected.
func (d *decoder) scalar(path string, n *yaml.Node, want string) bool {
	if n.Kind == yaml.ScalarNode {
		return true
	}
	d.problemAt(n, "%s: found %s where %s is expected; write %s: <%s>", label(path), kindName(n), want, lastKey(path), want)
	return false
}

// field is one key a struct accepts.
type field struct {
	key   string
	index int
}

var fieldCache sync.Map // reflect.Type → []field

func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(sf.Name)
		}
		fs = append(fs, field{key: tag, index: i})
	}
	fieldCache.Store(t, fs)
	return fs
}

// knownKeys lists the keys a struct type accepts, in declaration order.
func knownKeys(t reflect.Type) []string {
	var keys []string
	for _, f := range fieldsOf(t) {
		keys = append(keys, f.key)
	}
	return keys
}

// mapping decodes a YAML mapping into a struct, refusing unknown and repeated keys.
func (d *decoder) mapping(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.problemAt(n, "%s: found %s where a mapping (key: value lines) is expected; write keys such as %s",
			label(path), kindName(n), strings.Join(firstN(knownKeys(v.Type()), 3), ", "))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problemAt(k, "%s: found %s as a key; keys are plain words such as %s", label(path), kindName(k), strings.Join(firstN(knownKeys(v.Type()), 3), ", "))
			continue
		}
		if k.Value == "<<" {
			d.problemAt(k, "%s: YAML merge keys (<<) are not supported; write the keys out", label(path))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problemAt(k, "%s: %s is written twice (first at line %d); keep one", label(path), show(k.Value), first.Line)
			continue
		}
		seen[k.Value] = k
		var f *field
		for j := range fields {
			if fields[j].key == k.Value {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			d.unknownKey(path, k, v.Type())
			continue
		}
		d.value(join(path, f.key), val, v.Field(f.index))
	}
}

func (d *decoder) unknownKey(path string, k *yaml.Node, t reflect.Type) {
	known := knownKeys(t)
	if c := closest(k.Value, known); c != "" {
		d.suggested[join(path, c)] = true
		d.problemAt(k, "%s: unknown key %q; did you mean %s?", label(path), k.Value, c)
		return
	}
	d.problemAt(k, "%s: unknown key %q; the keys here are %s", label(path), k.Value, strings.Join(known, ", "))
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// list decodes a YAML sequence into a slice.
func (d *decoder) list(path string, n *yaml.Node, v reflect.Value) {
	elem := v.Type().Elem()
	if n.Kind != yaml.SequenceNode {
		if elem.Kind() == reflect.String {
			d.problemAt(n, "%s: found %s where a list is expected; write it as [a, b]", label(path), kindName(n))
		} else {
			d.problemAt(n, "%s: found %s where a list is expected; write each entry on its own line starting with '- '", label(path), kindName(n))
		}
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(join(path, strconv.Itoa(i)), item, out.Index(i))
	}
	v.Set(out)
}

// stringMap decodes a mapping of text to text (environment variables).
func (d *decoder) stringMap(path string, n *yaml.Node, v reflect.Value) {
	if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
		d.problemAt(n, "%s: buttctl cannot decode this field (%s); please report it", label(path), v.Type())
		return
	}
	if n.Kind != yaml.MappingNode {
		d.problemAt(n, "%s: found %s where a mapping is expected; write NAME: value lines", label(path), kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.resolve(n.Content[i]), d.resolve(n.Content[i+1])
		d.work++
		if k == nil || val == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problemAt(k, "%s: found %s as a key; write NAME: value", label(path), kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problemAt(k, "%s: %s is written twice (first at line %d); keep one", label(path), show(k.Value), first.Line)
			continue
		}
		seen[k.Value] = k
		d.nodes[join(path, k.Value)] = k
		s := ""
		switch {
		case isNull(val):
		case val.Kind != yaml.ScalarNode:
			d.problemAt(val, "%s.%s: found %s where text is expected; write %s: value", label(path), show(k.Value), kindName(val), show(k.Value))
			continue
		case val.ShortTag() == "!!bool":
			d.problemAt(val, "%s.%s: %s is true/false, not text; quote it: %s: %q", label(path), show(k.Value), show(val.Value), show(k.Value), val.Value)
			continue
		default:
			s = val.Value
		}
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), reflect.ValueOf(s).Convert(v.Type().Elem()))
	}
	v.Set(m)
}
