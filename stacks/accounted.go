package stacks

// Issue 12 items 1, 2 and 7: every key the stack sets is accounted for,
// values are read with the types the Pulumi CLI enforces, and encrypted
// values neither break the offline plan nor sit in plaintext where a secret
// belongs. Everything here works from the Keys table and the AWS provider
// settings table, so keys added later are covered without change.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// EncryptedPlaceholder is what the offline plan passes for a `secure:`
// value it cannot decrypt. The reader replaces it with a placeholder of the
// key's own shape (placeholderFor) and the plan reports the key as
// unchecked; under `pulumi up` the engine passes the decrypted value.
const EncryptedPlaceholder = "[encrypted: not decrypted by the offline plan]"

// Literal is how a scalar was written in the stack file, for sources that
// read YAML themselves (the offline plan). The engine's source has none.
type Literal struct {
	// Tag is the YAML tag the scalar resolved to: !!str, !!int, !!float,
	// !!bool or !!null.
	Tag string
	// Text is the scalar as written, e.g. "1.30".
	Text string
}

// literalSource is a Source that knows how values were written.
type literalSource interface {
	Literal(key string) (Literal, bool)
}

// secretSource is a Source that knows which values were encrypted.
type secretSource interface {
	IsSecret(key string) bool
}

// FileSource is a stack file as the offline plan reads it: the values the
// engine would pass, which of them were encrypted, and how each non-string
// scalar was written (keys inside `regions` as "ns:regions[i].name").
type FileSource struct {
	Values   map[string]string
	Secrets  map[string]bool
	Literals map[string]Literal
	// Written are the keys the file itself sets (Values also holds the
	// project defaults).
	Written map[string]bool
}

// Get implements Source.
func (f FileSource) Get(key string) (string, bool) { v, ok := f.Values[key]; return v, ok }

// Keys implements Source.
func (f FileSource) Keys() []string { return MapSource(f.Values).Keys() }

// IsSecret reports whether the stack file encrypted the key's value.
func (f FileSource) IsSecret(key string) bool { return f.Secrets[key] }

// Literal reports how the key's scalar value was written.
func (f FileSource) Literal(key string) (Literal, bool) { l, ok := f.Literals[key]; return l, ok }

func (c contextSource) IsSecret(key string) bool { return c.ctx.IsConfigSecret(key) }

func isSecret(src Source, key string) bool {
	s, ok := src.(secretSource)
	return ok && s.IsSecret(key)
}

// numberLiteral returns the text of a value YAML read as a number, when
// the source knows it.
func numberLiteral(src Source, key string) (string, bool) {
	ls, ok := src.(literalSource)
	if !ok {
		return "", false
	}
	l, ok := ls.Literal(key)
	if !ok || (l.Tag != "!!int" && l.Tag != "!!float") {
		return "", false
	}
	return l.Text, true
}

// Namespaces other than ours that a stack file may use.
const (
	awsNamespace    = "aws"
	pulumiNamespace = "pulumi" // the engine's own settings, e.g. pulumi:disable-default-providers
)

// synonyms are names users reach for, mapped to the key this project uses.
var synonyms = map[string]string{
	"dbInstanceType":        "dbInstanceClass",
	"dbClass":               "dbInstanceClass",
	"dbInstanceSize":        "dbInstanceClass",
	"dbReplicas":            "dbReaders",
	"dbReaderCount":         "dbReaders",
	"dbVersion":             "dbEngineVersion",
	"postgresVersion":       "dbEngineVersion",
	"auroraVersion":         "dbEngineVersion",
	"cacheInstanceType":     "cacheNodeType",
	"cacheInstanceClass":    "cacheNodeType",
	"redisNodeType":         "cacheNodeType",
	"cacheNodeGroups":       "cacheShards",
	"cacheNumShards":        "cacheShards",
	"redisVersion":          "cacheEngineVersion",
	"valkeyVersion":         "cacheEngineVersion",
	"cacheReplicas":         "cacheReplicasPerShard",
	"clusterVersion":        "kubernetesVersion",
	"eksVersion":            "kubernetesVersion",
	"k8sVersion":            "kubernetesVersion",
	"cidr":                  "vpcCidr",
	"cidrBlock":             "vpcCidr",
	"vpcCidrBlock":          "vpcCidr",
	"azs":                   "availabilityZones",
	"zones":                 "availabilityZones",
	"numberOfAzs":           "azCount",
	"natGatewayCount":       "natGateways",
	"singleNatGateway":      "natGateways",
	"replicas":              "authReplicas",
	"image":                 "authImage",
	"containerImage":        "authImage",
	"acmCertificateArn":     "certificateArn",
	"sslCertificateArn":     "certificateArn",
	"alertEmail":            "alarmEmail",
	"notificationEmail":     "alarmEmail",
	"hostname":              "authHostname",
	"domainName":            "authHostname",
	"zoneId":                "hostedZoneId",
	"route53ZoneId":         "hostedZoneId",
	"env":                   "environment",
	"stage":                 "environment",
	"gracePeriodSeconds":    "terminationGracePeriodSeconds",
	"deregistrationDelay":   "deregistrationDelaySeconds",
	"preStopSeconds":        "preStopSleepSeconds",
	"fargateCpu":            "authFargateCpu",
	"fargateMemory":         "authFargateMemoryGb",
	"authFargateMemory":     "authFargateMemoryGb",
	"authFargateMemoryMb":   "authFargateMemoryGb",
	"deletionProtection":    "protectStatefulResources",
	"protect":               "protectStatefulResources",
	"privateEndpointAccess": "endpointPrivateAccess",
	"publicEndpointAccess":  "endpointPublicAccess",
}

// accountKeys checks every key the stack sets: keys of our namespace must
// be in Keys, aws: keys must be ones the program passes to its providers,
// and nothing else is read, so anything else would be dropped in silence.
func accountKeys(src Source, p *problems) {
	for _, full := range src.Keys() {
		v, _ := src.Get(full)
		ns, name, ok := strings.Cut(full, ":")
		if !ok {
			p.add(full, v, fmt.Sprintf("write it as %s:%s", Namespace, full), "a configuration key without namespace")
			continue
		}
		switch {
		case ns == Namespace:
			if isKey(name) {
				continue
			}
			p.add(full, v, unknownKeyFix(name, ""), "unknown configuration key")
		case ns == awsNamespace:
			checkAWSKey(src, full, name, v, p)
		case ns == pulumiNamespace:
		case looksLikeOurNamespace(ns):
			p.add(full, v, unknownKeyFix(name, Namespace+":"),
				"%s: is not this project's namespace, so the key would be ignored", ns)
		default:
			p.add(full, v, fmt.Sprintf("remove it; this program reads only %s: keys and the aws: provider settings it passes on", Namespace),
				"nothing reads the %s: namespace in this stack%s", ns, namespaceNote(ns))
		}
	}
}

func namespaceNote(ns string) string {
	if ns == "kubernetes" {
		return " (its Kubernetes providers are built from the clusters it creates)"
	}
	return ""
}

// checkAWSKey accounts for one aws: key.
func checkAWSKey(src Source, full, name, v string, p *problems) {
	if full == RegionKey {
		return
	}
	if s, ok := awsSettingByName(name); ok {
		if s.secret && !isSecret(src, full) && v != EncryptedPlaceholder {
			p.add(full, "(plaintext, not shown)", fmt.Sprintf("remove it from the stack file and run `pulumi config set --secret %s <value>` (better: use aws:profile or an assumed role), then rotate the leaked key", full),
				"a credential must be stored encrypted")
		}
		return
	}
	if isKey(name) {
		p.add(full, v, fmt.Sprintf("did you mean %s:%s? (aws: is the AWS provider's namespace; this project's keys are %s:)", Namespace, name, Namespace),
			"the AWS provider has no such setting, and this program does not read it")
		return
	}
	if awsProviderKeys[name] {
		p.add(full, v, "remove it: the stack's explicit AWS providers are given "+strings.Join(passedOnAWSKeys(), ", ")+" and nothing else",
			"this AWS provider setting is not passed on to the stack's providers, so it would have no effect")
		return
	}
	fix := "remove it"
	if s := closestOf(name, passedOnNames()); s != "" {
		fix = fmt.Sprintf("did you mean aws:%s?", s)
	} else if s := closestKey(name); s != "" {
		fix = fmt.Sprintf("did you mean %s:%s?", Namespace, s)
	}
	p.add(full, v, fix, "not an AWS provider setting this program passes on")
}

// looksLikeOurNamespace catches authplatform:, auth_platform:, Auth-Platform:
// and small misspellings.
func looksLikeOurNamespace(ns string) bool {
	norm := strings.NewReplacer("-", "", "_", "", ".", "", " ", "").Replace(strings.ToLower(foldLookalikes(ns)))
	return norm == strings.ReplaceAll(Namespace, "-", "") || editDistance(strings.ToLower(ns), Namespace) <= 3
}

// unknownKeyFix suggests the key meant by an unknown name; prefix is what
// the suggestion is written with ("" inside our namespace).
func unknownKeyFix(name, prefix string) string {
	if isKey(name) {
		return fmt.Sprintf("did you mean %s%s?", prefix, name)
	}
	if s := closestKey(name); s != "" {
		return fmt.Sprintf("did you mean %s%s?", prefix, s)
	}
	if looksLikePassword(name) {
		return "remove it: RDS generates the database master password into Secrets Manager and the stack generates the cache AUTH token, so no password is configured; " +
			"a password committed in plaintext is leaked, rotate it. A secret a stack does take is set with `pulumi config set --secret <key> <value>`"
	}
	return "remove it"
}

func looksLikePassword(name string) bool {
	l := strings.ToLower(name)
	for _, w := range []string{"password", "passwd", "authtoken", "token", "secretkey", "accesskey"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// closestKey suggests the registered key nearest to a misspelt one: a
// well-known synonym, the same name with look-alike characters folded, or
// the key within a small edit distance.
func closestKey(name string) string {
	if s, ok := synonyms[name]; ok {
		return s
	}
	for syn, s := range synonyms {
		if strings.EqualFold(syn, name) {
			return s
		}
	}
	folded := foldLookalikes(name)
	if folded != name && isKey(folded) {
		return folded
	}
	return closest(folded)
}

func closestOf(name string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(name), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

func closestRegion(name string) string {
	var all []string
	for _, rs := range regions {
		all = append(all, rs...)
	}
	sort.Strings(all)
	return closestOf(foldLookalikes(strings.TrimSpace(name)), all)
}

// lookalikes map characters that pass for ASCII in an editor to the ASCII
// character they imitate.
var lookalikes = map[rune]rune{
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'х': 'x', 'у': 'y', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd',
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'Х': 'X',
	'ο': 'o', 'α': 'a', 'ν': 'v', 'Ι': 'I',
	'\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2212': '-',
	'\u2018': '\'', '\u2019': '\'', '\u201c': '"', '\u201d': '"', '\u00a0': ' ', '\uff1a': ':',
}

var runeNames = map[rune]string{
	'\u200b': "ZERO WIDTH SPACE", '\u200c': "ZERO WIDTH NON-JOINER", '\u200d': "ZERO WIDTH JOINER",
	'\u2060': "WORD JOINER", '\ufeff': "BYTE ORDER MARK", '\u00a0': "NO-BREAK SPACE", '\u00ad': "SOFT HYPHEN",
	'\u2010': "HYPHEN", '\u2011': "NON-BREAKING HYPHEN", '\u2013': "EN DASH", '\u2014': "EM DASH", '\u2212': "MINUS SIGN",
	'\u2018': "LEFT SINGLE QUOTATION MARK", '\u2019': "RIGHT SINGLE QUOTATION MARK",
	'\u201c': "LEFT DOUBLE QUOTATION MARK", '\u201d': "RIGHT DOUBLE QUOTATION MARK", '\t': "TAB",
}

// foldLookalikes replaces look-alike characters by ASCII and drops
// invisible ones.
func foldLookalikes(s string) string {
	var b strings.Builder
	for _, r := range s {
		if a, ok := lookalikes[r]; ok {
			b.WriteRune(a)
		} else if !invisible(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') || unicode.IsControl(r)
}

// oddCharacters describes the characters of s that are invisible or only
// look like ASCII, e.g. `U+200B ZERO WIDTH SPACE at position 4`; "" when
// there are none. Leading and trailing spaces count too.
func oddCharacters(s string) string {
	var notes []string
	pos := 0
	for _, r := range s {
		pos++
		if r < 0x80 && !unicode.IsControl(r) {
			continue
		}
		name := runeNames[r]
		if name == "" {
			if a, ok := lookalikes[r]; ok {
				name = fmt.Sprintf("looks like %q", a)
			} else if invisible(r) {
				name = "invisible"
			} else {
				continue
			}
		}
		notes = append(notes, fmt.Sprintf("U+%04X %s at position %d", r, name, pos))
	}
	if strings.TrimSpace(s) != s && s != "" {
		notes = append(notes, "leading or trailing space")
	}
	return strings.Join(notes, ", ")
}

// completeProblems fills in what the user wrote where a check left the
// value out, marks keys set to "" so that they are not called unset, and
// points out invisible and look-alike characters in keys and values.
func completeProblems(src Source, entries []regionEntry, ps problems) problems {
	out := make(problems, 0, len(ps))
	for _, p := range ps {
		if p.Value == "" {
			if v, ok := valueAt(src, entries, p.Key); ok && (v != "" || written(src, p.Key)) {
				p.Value, p.Set = v, true
			}
		}
		if p.Value == EncryptedPlaceholder {
			p.Value = "(encrypted)"
		}
		var notes []string
		if n := oddCharacters(keyName(p.Key)); n != "" {
			notes = append(notes, "the key has "+n)
		}
		if n := oddCharacters(p.Value); n != "" {
			notes = append(notes, "the value has "+n)
		}
		if len(notes) > 0 {
			p.Message += " (" + strings.Join(notes, "; ") + ")"
		}
		out = append(out, p)
	}
	return out
}

// written reports whether the user set key, as far as the source can tell:
// an empty value that is also the key's default counts as unset unless the
// stack file is known to write it (the engine passes defaults as values).
func written(src Source, key string) bool {
	if f, ok := src.(FileSource); ok && f.Written != nil {
		return f.Written[key]
	}
	if strings.Contains(key, "[") {
		return true
	}
	name, ours := strings.CutPrefix(key, Namespace+":")
	if !ours || !isKey(name) {
		return true
	}
	def, isString := keyByName(name).Default.(string)
	return !isString || def != ""
}

func keyName(full string) string {
	if _, name, ok := strings.Cut(full, ":"); ok {
		return name
	}
	return full
}

// valueAt finds the value of a problem's key, a `regions[i].name` key
// included.
func valueAt(src Source, entries []regionEntry, key string) (string, bool) {
	prefix := q("regions") + "["
	if rest, ok := strings.CutPrefix(key, prefix); ok {
		idx, name, ok := strings.Cut(rest, "].")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= len(entries) {
			return "", false
		}
		if name == "region" {
			return entries[i].Region, entries[i].hasRegion
		}
		v, ok := entries[i].Values[name]
		return v, ok
	}
	return src.Get(key)
}

// encryptedKeys lists the keys whose values the offline plan could not see.
func encryptedKeys(src Source, entries []regionEntry) []string {
	var out []string
	for _, k := range src.Keys() {
		if v, _ := src.Get(k); v == EncryptedPlaceholder {
			out = append(out, k)
		}
	}
	for i, e := range entries {
		for name, v := range e.Values {
			if v == EncryptedPlaceholder {
				out = append(out, fmt.Sprintf("%s[%d].%s", q("regions"), i, name))
			}
		}
	}
	sort.Strings(out)
	return out
}

// placeholderFor is a value of the key's own shape standing in for an
// encrypted one, so that a stack which encrypts, say, its alarm e-mail
// plans as `pulumi up` would run it. Keys without a shape of their own
// take their default.
func placeholderFor(name, region string) string {
	if region == "" {
		region = "us-east-1"
	}
	partition := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	switch name {
	case "certificateArn":
		return fmt.Sprintf("arn:%s:acm:%s:000000000000:certificate/00000000-0000-4000-8000-000000000000", partition, region)
	case "cacheKmsKeyArn":
		return fmt.Sprintf("arn:%s:kms:%s:000000000000:key/00000000-0000-4000-8000-000000000000", partition, region)
	case "alarmEmail":
		return "encrypted-placeholder@example.com"
	case "authImage":
		return "registry.example.com/encrypted/placeholder:plan"
	case "authHostname":
		return "encrypted-placeholder.example.com"
	case "hostedZoneId":
		return "ZENCRYPTEDPLACEHOLDER"
	case "albAccessLogsBucket":
		return "encrypted-placeholder-bucket"
	}
	for _, k := range Keys {
		if k.Name != name {
			continue
		}
		v := encodeValue(k.Default)
		if v == "" {
			return "encrypted"
		}
		return v
	}
	return "encrypted"
}
