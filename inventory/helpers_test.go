package inventory

import (
	"fmt"
	"strconv"
)

func fmtSscanf(s string, line, col *int) (int, error) { return fmt.Sscanf(s, "%d:%d", line, col) }

func itoa(i int) string { return strconv.Itoa(i) }
