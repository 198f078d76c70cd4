package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/authplatform/auth-platform/stacks"
)

// TestS3BucketNamesFollowEveryRuleOfTheUserGuide: one case per rule of
// "General purpose bucket naming rules" (S3 User Guide), refused and
// accepted at its edge (issue 28 item 4).
func TestS3BucketNamesFollowEveryRuleOfTheUserGuide(t *testing.T) {
	for _, tc := range []struct{ name, problem string }{
		{"ab", "2 characters: an S3 bucket name has 3 to 63"},
		{"abc", ""},
		{strings.Repeat("a", 63), ""},
		{strings.Repeat("a", 64), "64 characters"},
		{"Logs-Bucket", "only lowercase letters, digits"},
		{"logs_bucket", "only lowercase letters, digits"},
		{"-logs", "begins and ends with a letter or digit"},
		{"logs.", "begins and ends with a letter or digit"},
		{"logs..bucket", "no two adjacent periods"},
		{"logs.bucket", ""},
		{"192.168.5.4", "not formatted as an IP address"},
		{"192.168.5.4.logs", ""},
		{"xn--logs", "reserves the prefix xn--"},
		{"sthree-logs", "reserves the prefix sthree-"},
		{"amzn-s3-demo-logs", "reserves the prefix amzn-s3-demo-"},
		{"logs-s3alias", "reserves the suffix -s3alias"},
		{"logs--ol-s3", "reserves the suffix --ol-s3"},
		{"logs.mrap", "reserves the suffix .mrap"},
		{"logs--x-s3", "reserves the suffix --x-s3"},
		{"logs--table-s3", "reserves the suffix --table-s3"},
		{"logs-s3", ""},
		{"xn-logs", ""},
	} {
		got := stacks.BucketNameProblem(tc.name)
		if tc.problem == "" {
			assert.Empty(t, got, tc.name)
		} else {
			assert.Contains(t, got, tc.problem, tc.name)
		}
	}
}

// TestS3ObjectKeysAreAnyUTF8UpTo1024Bytes: S3 takes any UTF-8 key of at
// most 1,024 bytes, the characters it says to avoid included.
func TestS3ObjectKeysAreAnyUTF8UpTo1024Bytes(t *testing.T) {
	for _, key := range []string{"ca.pem", "pki/clients bundle.pem", "pki/ünïcödé/ca", "a{b}^%`[]\"<>~#|.pem", "ca", strings.Repeat("k", 1024), strings.Repeat("é", 512)} {
		assert.Empty(t, stacks.ObjectKeyProblem(key), key)
	}
	for key, problem := range map[string]string{
		"":                        "at least one character",
		strings.Repeat("k", 1025): "1025 bytes",
		strings.Repeat("é", 513):  "1026 bytes",
		"ca\xff.pem":              "UTF-8",
	} {
		assert.Contains(t, stacks.ObjectKeyProblem(key), problem)
	}
}
