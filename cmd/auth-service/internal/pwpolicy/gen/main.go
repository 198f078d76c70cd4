// Command gen writes the password blocklist that internal/pwpolicy embeds
// (blocklist.txt.gz): `go generate ./internal/pwpolicy` from the module.
//
// The source is the "passwords" list of zxcvbn 4.4.2 (dropbox/zxcvbn): the
// 30,000 most frequent passwords of Mark Burnett's corpus of 10 million
// leaked passwords (xato.net), as the Go module github.com/trustelem/zxcvbn
// v1.0.1 ships it (frequency.FrequencyLists["passwords"], MIT licence),
// fetched through the Go module proxy and pinned by go.sum. The list is
// case-folded, trimmed, deduplicated and sorted, one password a line.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/pwpolicy/source"
)

func main() {
	out := "blocklist.txt.gz"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(source.List()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := zw.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
