package inventory

import (
	"bytes"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes, defaults and validates the inventory at path.
func Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w (run 'buttctl init' to create one)", err)
	}
	return Parse(path, data)
}

// Parse decodes an inventory from data; path is used in error messages.
func Parse(path string, data []byte) (*Inventory, error) {
	var inv Inventory
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&inv); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	inv.Path = path
	inv.applyDefaults()
	return &inv, nil
}
