// Package source turns the public list the blocklist comes from into the
// blocklist's text (see ../gen). Only the generator and the test that
// holds the embedded file to it import this package, so the service's
// binary does not carry zxcvbn's other dictionaries.
package source

import (
	"sort"
	"strings"

	"github.com/trustelem/zxcvbn/frequency"
)

// Name says where the list comes from (README and the service's log).
const Name = "zxcvbn 4.4.2 passwords (github.com/trustelem/zxcvbn v1.0.1, frequency.FrequencyLists[\"passwords\"])"

// List is the blocklist's text: every password of the source list, case
// folded and trimmed, deduplicated, sorted, one a line.
func List() []byte {
	seen := map[string]bool{}
	var words []string
	for _, w := range frequency.FrequencyLists["passwords"] {
		w = Fold(w)
		if w != "" && !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	sort.Strings(words)
	return []byte(strings.Join(words, "\n") + "\n")
}

// Fold is the form both the list and a candidate password are compared in.
func Fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
