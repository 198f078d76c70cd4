package stacks

// S3 names and keys as S3 states them, in full (issue 28 item 4).
//
// Bucket names: the S3 User Guide, "General purpose bucket naming rules"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
// 3-63 characters; lowercase letters, digits, periods and hyphens only;
// begin and end with a letter or digit; no two adjacent periods; not an
// IP address (192.168.5.4); not starting with the reserved prefixes xn--,
// sthree- or amzn-s3-demo-; not ending with the reserved suffixes -s3alias
// (access point aliases), --ol-s3 (Object Lambda access point aliases),
// .mrap (Multi-Region Access Points), --x-s3 (directory buckets) or
// --table-s3 (table buckets). A bucket used with Transfer Acceleration
// has no periods, but neither bucket here uses it.
//
// Object keys: the S3 User Guide, "Naming Amazon S3 objects"
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html):
// "any UTF-8 character", at most 1,024 bytes long. Characters the guide
// says to avoid or that need special handling are still valid keys, so
// they are accepted.

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

var bucketChars = regexp.MustCompile(`^[a-z0-9.-]+$`)

// bucketReservedPrefixes and bucketReservedSuffixes are the guide's.
var (
	bucketReservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	bucketReservedSuffixes = []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}
)

// BucketNameProblem says why S3 refuses name as a general purpose bucket
// name, or "" when S3 accepts it.
func BucketNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("%d characters: an S3 bucket name has 3 to 63", len(name))
	case !bucketChars.MatchString(name):
		return "an S3 bucket name has only lowercase letters, digits, '.' and '-'"
	case !alnum(name[0]) || !alnum(name[len(name)-1]):
		return "an S3 bucket name begins and ends with a letter or digit"
	case strings.Contains(name, ".."):
		return "an S3 bucket name has no two adjacent periods"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "an S3 bucket name is not formatted as an IP address"
	}
	for _, p := range bucketReservedPrefixes {
		if strings.HasPrefix(name, p) {
			return fmt.Sprintf("S3 reserves the prefix %s", p)
		}
	}
	for _, s := range bucketReservedSuffixes {
		if strings.HasSuffix(name, s) {
			return fmt.Sprintf("S3 reserves the suffix %s", s)
		}
	}
	return ""
}

// ObjectKeyProblem says why S3 refuses key as an object key, or "".
func ObjectKeyProblem(key string) string {
	switch {
	case key == "":
		return "an S3 object key is at least one character"
	case !utf8.ValidString(key):
		return "an S3 object key is UTF-8"
	case len(key) > 1024:
		return fmt.Sprintf("%d bytes: an S3 object key is at most 1,024 bytes of UTF-8", len(key))
	}
	return ""
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
