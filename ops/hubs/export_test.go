package hubs

// ParseFactsForTest exposes parseFacts to the external tests.
func ParseFactsForTest(out string) Facts {
	var f Facts
	parseFacts(&f, out)
	return f
}
