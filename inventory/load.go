package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest inventory file buttctl reads.
const MaxSize = 4 << 20

// Load reads, decodes, defaults and validates the inventory at path. An
// invalid inventory gives an *Errors listing every problem.
func Load(path string) (*Inventory, error) {
	data, err := readLimited(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("inventory %s does not exist; run 'buttctl init' to create one, or point -i/--inventory at yours: %w", path, err)
		}
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return Parse(path, data)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// Parse decodes an inventory from data, applies the defaults and validates
// it; path names the file in problems. An invalid inventory gives an *Errors
// listing every problem, each with its line and column.
func Parse(path string, data []byte) (*Inventory, error) {
	inv, _, errs := parse(path, data)
	if errs != nil {
		return nil, errs
	}
	return inv, nil
}

// parse is Parse that also returns the decoder (positions), and the problems
// as a nil *Errors when there are none.
func parse(path string, data []byte) (*Inventory, *decoder, *Errors) {
	d := newDecoder(path)
	inv := &Inventory{Path: path}
	if root := d.document(data); root != nil {
		d.value("", root, reflect.ValueOf(inv).Elem())
		validate(d, inv)
		inv.applyDefaults()
		validateFleet(d, inv)
	}
	if len(d.probs) > 0 {
		errs := &Errors{Problems: d.probs}
		errs.sort()
		return nil, d, errs
	}
	return inv, d, nil
}

// decodeRaw decodes data as parse does, but without defaults or validation,
// and whatever the problems (edits compare what two texts say).
func decodeRaw(data []byte) (*Inventory, []Problem) {
	d := newDecoder("")
	inv := &Inventory{}
	if root := d.document(data); root != nil {
		d.value("", root, reflect.ValueOf(inv).Elem())
	}
	return inv, d.probs
}

// document parses data into the top-level node, reporting YAML syntax errors,
// empty files and extra documents.
func (d *decoder) document(data []byte) *yaml.Node {
	if len(data) > MaxSize {
		d.problemAt(nil, "the file is larger than %d MiB; an inventory is a short YAML file", MaxSize>>20)
		return nil
	}
	var doc, extra yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := safeDecode(dec, &doc)
	if err == io.EOF {
		d.probs = append(d.probs, Problem{File: d.file, Line: 1, Col: 1,
			Msg: "the inventory is empty; run 'buttctl init' for a starter, or begin with version: 1"})
		return nil
	}
	if err != nil {
		d.syntaxError(data, err)
		return nil
	}
	if err := safeDecode(dec, &extra); err != io.EOF {
		if err != nil {
			d.syntaxError(data, err)
		} else {
			d.problemAt(&extra, "a second YAML document ('---') follows the inventory; keep one document per file")
		}
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.problemAt(&doc, "the inventory is not a YAML document; begin with version: 1")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode || root.Tag != "" && root.ShortTag() != "!!map" {
		if isNull(root) {
			d.problemAt(root, "the inventory has no settings; run 'buttctl init' for a starter, or begin with version: 1")
		} else {
			d.problemAt(root, "the inventory must be a mapping of sections (version, ssh, defaults, hubs, pubs...), found %s", kindName(root))
		}
		return nil
	}
	return root
}

// safeDecode decodes the next document, turning a panic of the YAML library
// into an error so a hostile file cannot crash buttctl.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError reports a YAML syntax error at its line, with a hint.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	hint := "check the indentation and quoting"
	lines := strings.Split(string(data), "\n")
	if line > 0 && line <= len(lines) && strings.Contains(lines[line-1], "\t") ||
		line == 0 && strings.Contains(string(data), "\n\t") {
		hint = "indent with spaces, not tabs"
	}
	if line > 0 && line <= len(lines) {
		hint += " on this line (or the one above)"
	}
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Msg: escapeControl("YAML syntax: " + msg + "; " + hint)})
}
