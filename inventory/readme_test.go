package inventory

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestREADMEExample keeps the README's annotated inventory true: it must
// load, and every key the model knows must appear in it.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## The inventory")
	if !ok {
		t.Fatal("README has no inventory section")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README has no yaml example in its inventory section")
	}
	if _, err := Parse("README.md", []byte(example)); err != nil {
		t.Fatalf("the README's example inventory is invalid:\n%v", err)
	}
	seen := map[reflect.Type]bool{}
	var keys func(reflect.Type)
	missing := []string{}
	keys = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] || ty == durationType || ty == byteSizeType {
			return
		}
		seen[ty] = true
		for _, f := range fieldsOf(ty) {
			if !strings.Contains(example, f.key+":") {
				missing = append(missing, ty.Name()+"."+f.key)
			}
			keys(ty.Field(f.index).Type)
		}
	}
	keys(reflect.TypeFor[Inventory]())
	if len(missing) > 0 {
		t.Errorf("the README's example does not document %v", missing)
	}
}
