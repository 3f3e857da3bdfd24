package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
)

// Editor changes an inventory file through a few operations on its YAML
// node tree, and saves it keeping its comments, key order and formatting:
// where an edit can be made as a small change of the text, the rest of the
// file stays byte for byte; otherwise the node tree is re-encoded (comments
// kept, blank lines and indentation normalised). Save re-validates, refuses
// an invalid result, and writes atomically under the inventory lock.
//
//	ed, err := inventory.Edit("buttctl.yaml")
//	err = ed.SetPubHub("scuttle-1", "hub-2")
//	err = ed.Save()
type Editor struct {
	path string // as the caller named it, for messages
	file string // the file written: path with symlinks resolved
	orig []byte // the file as read (or last saved), to detect changes by others
	mode fs.FileMode
	text []byte
	doc  *yaml.Node

	// LockWait is how long Save waits for the inventory lock when this
	// process does not hold it already (default 10s).
	LockWait time.Duration
	// Purpose is written in the lock file while Save holds it, e.g. "buttctl pub move".
	Purpose string
}

// Edit opens the inventory at path for editing. The inventory must be valid.
func Edit(path string) (*Editor, error) {
	file, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	st, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	data, err := readLimited(file)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	e, err := newEditor(path, data)
	if err != nil {
		return nil, err
	}
	e.file, e.mode = file, st.Mode().Perm()
	return e, nil
}

// newEditor is an Editor of data, a valid inventory, not yet tied to a file.
func newEditor(path string, data []byte) (*Editor, error) {
	if _, err := Parse(path, data); err != nil {
		return nil, err
	}
	e := &Editor{path: path, orig: data, LockWait: 10 * time.Second}
	if err := e.setText(data); err != nil {
		return nil, err
	}
	return e, nil
}

// resolve follows symlinks so saves replace the file, not the link.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return abs, nil
	}
	return real, err
}

func (e *Editor) setText(text []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: not an inventory", e.path)
	}
	e.text, e.doc = text, &doc
	return nil
}

// Bytes is the inventory's text with the edits so far.
func (e *Editor) Bytes() []byte { return slices.Clone(e.text) }

// Inventory is the inventory with the edits so far, defaults applied (it
// may be invalid until Save checks it).
func (e *Editor) Inventory() *Inventory {
	inv, _ := decodeRaw(e.text)
	inv.Path = e.path
	inv.applyDefaults()
	return inv
}

// AddHub appends hub to hubs. Only the fields set are written.
func (e *Editor) AddHub(h Hub) error {
	if _, ok := e.Inventory().Hub(h.Name); ok {
		return fmt.Errorf("%s: hub %q already exists", e.path, h.Name)
	}
	return e.addItem("hubs", h)
}

// RemoveHub removes the hub named name. It refuses while pubs are placed on it.
func (e *Editor) RemoveHub(name string) error {
	inv := e.Inventory()
	if _, ok := inv.Hub(name); !ok {
		return e.noSuch("hub", name)
	}
	if on := inv.PubsOn(name); len(on) > 0 {
		names := make([]string, len(on))
		for i, p := range on {
			names[i] = p.Name
		}
		return fmt.Errorf("%s: hub %s still has pubs %s; move or remove them first", e.path, name, strings.Join(names, ", "))
	}
	return e.removeItem("hubs", name)
}

// SetHubAddress records a hub's address.
func (e *Editor) SetHubAddress(hub, address string) error {
	if _, ok := e.Inventory().Hub(hub); !ok {
		return e.noSuch("hub", hub)
	}
	return e.setField("hubs", hub, "address", strNode(address))
}

// SetHubServerID records the OpenStack server id of a hub.
func (e *Editor) SetHubServerID(hub, id string) error {
	if _, ok := e.Inventory().Hub(hub); !ok {
		return e.noSuch("hub", hub)
	}
	return e.setField("hubs", hub, "server_id", strNode(id))
}

// AddPub appends pub to pubs. Only the fields set are written, so the pub
// keeps inheriting the defaults for the others.
func (e *Editor) AddPub(p Pub) error {
	inv := e.Inventory()
	if _, ok := inv.Pub(p.Name); ok {
		return fmt.Errorf("%s: pub %q already exists", e.path, p.Name)
	}
	if p.Hub != "" {
		if _, ok := inv.Hub(p.Hub); !ok {
			return e.noSuch("hub", p.Hub)
		}
	}
	return e.addItem("pubs", p)
}

// RemovePub removes the pub named name.
func (e *Editor) RemovePub(name string) error {
	if _, ok := e.Inventory().Pub(name); !ok {
		return e.noSuch("pub", name)
	}
	return e.removeItem("pubs", name)
}

// SetPubHub places a pub on a hub; hub "" removes its placement.
func (e *Editor) SetPubHub(pub, hub string) error {
	inv := e.Inventory()
	if _, ok := inv.Pub(pub); !ok {
		return e.noSuch("pub", pub)
	}
	if hub == "" {
		return e.setField("pubs", pub, "hub", nil)
	}
	if _, ok := inv.Hub(hub); !ok {
		return e.noSuch("hub", hub)
	}
	return e.setField("pubs", pub, "hub", strNode(hub))
}

// SetPubState records the state an operator wants for a pub: running or stopped.
func (e *Editor) SetPubState(pub, state string) error {
	if state != StateRunning && state != StateStopped {
		return fmt.Errorf("pub %s: state %q is not a state; use %s or %s", pub, state, StateRunning, StateStopped)
	}
	if _, ok := e.Inventory().Pub(pub); !ok {
		return e.noSuch("pub", pub)
	}
	return e.setField("pubs", pub, "state", strNode(state))
}

func (e *Editor) noSuch(what, name string) error {
	return fmt.Errorf("%s: no %s named %q", e.path, what, name)
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// topKey returns the key and value nodes of key in the top-level mapping.
func topKey(doc *yaml.Node, key string) (k, v *yaml.Node) {
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			return root.Content[i], root.Content[i+1]
		}
	}
	return nil, nil
}

// named finds the entry called name in the list under section.
func named(doc *yaml.Node, section, name string) (k, seq *yaml.Node, index int, item *yaml.Node) {
	k, seq = topKey(doc, section)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return k, seq, -1, nil
	}
	for i, it := range seq.Content {
		if it.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(it.Content); j += 2 {
			if it.Content[j].Value == "name" && it.Content[j+1].Value == name {
				return k, seq, i, it
			}
		}
	}
	return k, seq, -1, nil
}

// setField sets key of the entry named name in section to value (nil removes the key).
func (e *Editor) setField(section, name, key string, value *yaml.Node) error {
	return e.change(
		func(doc *yaml.Node) error {
			_, _, _, item := named(doc, section, name)
			if item == nil {
				return e.noSuch(strings.TrimSuffix(section, "s"), name)
			}
			for j := 0; j+1 < len(item.Content); j += 2 {
				if item.Content[j].Value == key {
					if value == nil {
						item.Content = slices.Delete(item.Content, j, j+2)
					} else {
						v := item.Content[j+1]
						v.Kind, v.Tag, v.Value, v.Style, v.Content, v.Alias = value.Kind, value.Tag, value.Value, 0, nil, nil
					}
					return nil
				}
			}
			if value != nil {
				item.Content = append(item.Content, strNode(key), value)
				item.Content[len(item.Content)-2].Tag = ""
			}
			return nil
		},
		func(t *textDoc) bool {
			_, _, _, item := named(t.doc, section, name)
			if item == nil {
				return false
			}
			if value == nil {
				return t.deleteKey(item, key)
			}
			text, ok := oneLine(value)
			return ok && t.setKey(item, key, text)
		})
}

// addItem appends v (a Hub or Pub) to the list under section.
func (e *Editor) addItem(section string, v any) error {
	item := structNode(reflect.ValueOf(v))
	return e.change(
		func(doc *yaml.Node) error {
			root := doc.Content[0]
			_, seq := topKey(doc, section)
			switch {
			case seq == nil:
				root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: section},
					&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{item}})
			case isNull(seq):
				*seq = yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{item}, Line: seq.Line, Column: seq.Column,
					HeadComment: seq.HeadComment, LineComment: seq.LineComment, FootComment: seq.FootComment}
			case seq.Kind == yaml.SequenceNode:
				if len(seq.Content) == 0 {
					seq.Style &^= yaml.FlowStyle
				}
				seq.Content = append(seq.Content, item)
			default:
				return fmt.Errorf("%s: %s is not a list; fix it by hand", e.path, section)
			}
			return nil
		},
		func(t *textDoc) bool {
			block, err := encodeNode(item)
			if err != nil {
				return false
			}
			flowItem := *item
			flowItem.Style = yaml.FlowStyle
			flow, ok := oneLine(&flowItem)
			if !ok {
				flow = ""
			}
			return t.appendItem(t.doc.Content[0], section, strings.Split(strings.TrimSuffix(block, "\n"), "\n"), flow)
		})
}

// removeItem removes the entry called name from the list under section.
func (e *Editor) removeItem(section, name string) error {
	return e.change(
		func(doc *yaml.Node) error {
			_, seq, i, _ := named(doc, section, name)
			if i < 0 {
				return e.noSuch(strings.TrimSuffix(section, "s"), name)
			}
			seq.Content = slices.Delete(seq.Content, i, i+1)
			if len(seq.Content) == 0 {
				seq.Style |= yaml.FlowStyle
			}
			return nil
		},
		func(t *textDoc) bool {
			k, seq, i, _ := named(t.doc, section, name)
			return i >= 0 && t.removeItem(k, seq, i)
		})
}

// change applies an edit to a copy of the node tree (the truth of what the
// edit means) and, when it can, the same edit to the text. The text edit is
// kept only if it decodes to exactly what the edited tree decodes to;
// otherwise the edited tree is encoded instead.
func (e *Editor) change(edit func(doc *yaml.Node) error, editText func(t *textDoc) bool) error {
	tree := cloneNode(e.doc, map[*yaml.Node]*yaml.Node{})
	if err := edit(tree); err != nil {
		return err
	}
	want := decodeNode(tree)
	if t, ok := newTextDoc(e.text, e.doc); ok && editText(t) {
		text := t.bytes()
		if got, _ := decodeRaw(text); reflect.DeepEqual(normalised(got), want) {
			return e.setText(text)
		}
	}
	reencoded.Add(1)
	text, err := encodeNode(tree)
	if err != nil {
		return fmt.Errorf("%s: encoding the edited inventory: %w", e.path, err)
	}
	if got, _ := decodeRaw([]byte(text)); !reflect.DeepEqual(normalised(got), want) {
		return fmt.Errorf("%s: the edit could not be written faithfully; nothing changed (please report this)", e.path)
	}
	return e.setText([]byte(text))
}

// reencoded counts the edits written by re-encoding the tree (tests).
var reencoded atomic.Int64

// decodeNode decodes a node tree the way decodeRaw decodes text.
func decodeNode(doc *yaml.Node) *Inventory {
	d := newDecoder("")
	inv := &Inventory{}
	d.value("", doc.Content[0], reflect.ValueOf(inv).Elem())
	return normalised(inv)
}

// normalised applies the defaults so that equal meanings compare equal
// (an absent list and an empty one, say).
func normalised(inv *Inventory) *Inventory {
	inv.applyDefaults()
	return inv
}

func cloneNode(n *yaml.Node, seen map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if c, ok := seen[n]; ok {
		return c
	}
	c := *n
	seen[n] = &c
	c.Alias = cloneNode(n.Alias, seen)
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = cloneNode(ch, seen)
	}
	return &c
}

// structNode renders a Hub or Pub as a mapping of its set fields, in
// declaration order.
func structNode(v reflect.Value) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		if fv.IsZero() {
			continue
		}
		var n *yaml.Node
		switch fv.Type() {
		case durationType, byteSizeType:
			n = strNode(fv.Interface().(fmt.Stringer).String())
			n.Tag = ""
		default:
			switch fv.Kind() {
			case reflect.String:
				n = strNode(fv.String())
			case reflect.Int:
				n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(fv.Int(), 10)}
			case reflect.Bool:
				n = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(fv.Bool())}
			case reflect.Struct:
				n = structNode(fv)
			case reflect.Slice:
				n = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
				for i := 0; i < fv.Len(); i++ {
					n.Content = append(n.Content, strNode(fv.Index(i).String()))
				}
			case reflect.Map:
				n = &yaml.Node{Kind: yaml.MappingNode}
				keys := fv.MapKeys()
				slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
				for _, k := range keys {
					n.Content = append(n.Content, strNode(k.String()), strNode(fv.MapIndex(k).String()))
				}
			default:
				continue
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.key}, n)
	}
	return m
}

// encodeNode renders n as YAML text, indented by 2.
func encodeNode(n *yaml.Node) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// oneLine renders n on one line (false when YAML needs more).
func oneLine(n *yaml.Node) (string, bool) {
	s, err := encodeNode(n)
	if err != nil {
		return "", false
	}
	s = strings.TrimSuffix(s, "\n")
	return s, !strings.Contains(s, "\n")
}
