// Command buttctl is the operations console for a fleet of Scuttlebutt pubs.
package main

import (
	"os"

	"github.com/buttctl/buttctl/cmd/buttctl/internal/cmd/root"
)

func main() { os.Exit(root.Main(os.Args[1:])) }
