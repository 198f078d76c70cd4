package stacks

// Issue 11 item 9: the account is the one meant. Every AWS resource goes
// through an explicit per-region provider, which does not read the stack's
// aws: configuration by itself; the settings below are read here and handed
// to every such provider, and every other aws: key is refused by name
// (accountKeys), so nothing in a stack file is ignored in silence.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cluster"
)

// AWSSettings are the stack's aws: settings given to every explicit AWS
// provider besides its region.
type AWSSettings struct {
	Profile                   string
	AllowedAccountIDs         []string
	ForbiddenAccountIDs       []string
	SharedConfigFiles         []string
	SharedCredentialsFiles    []string
	AssumeRole                *AssumeRole
	AssumeRoleWithWebIdentity *AssumeRoleWithWebIdentity
	StsRegion                 string
	MaxRetries                *int
	RetryMode                 string
	// Credentials, taken only encrypted.
	AccessKey, SecretKey, Token string
}

// AssumeRole is aws:assumeRole.
type AssumeRole struct {
	RoleArn           string            `json:"roleArn"`
	SessionName       string            `json:"sessionName,omitempty"`
	ExternalID        string            `json:"externalId,omitempty"`
	Duration          string            `json:"duration,omitempty"`
	Policy            string            `json:"policy,omitempty"`
	PolicyArns        []string          `json:"policyArns,omitempty"`
	SourceIdentity    string            `json:"sourceIdentity,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	TransitiveTagKeys []string          `json:"transitiveTagKeys,omitempty"`
}

// AssumeRoleWithWebIdentity is aws:assumeRoleWithWebIdentity.
type AssumeRoleWithWebIdentity struct {
	RoleArn              string   `json:"roleArn"`
	SessionName          string   `json:"sessionName,omitempty"`
	Duration             string   `json:"duration,omitempty"`
	Policy               string   `json:"policy,omitempty"`
	PolicyArns           []string `json:"policyArns,omitempty"`
	WebIdentityToken     string   `json:"webIdentityToken,omitempty"`
	WebIdentityTokenFile string   `json:"webIdentityTokenFile,omitempty"`
}

// awsSetting is one aws: key the program passes on.
type awsSetting struct {
	name   string
	secret bool // refused in plaintext
}

// passedOnAWS are the aws: keys handed to every explicit provider.
var passedOnAWS = []awsSetting{
	{name: "profile"}, {name: "allowedAccountIds"}, {name: "forbiddenAccountIds"},
	{name: "sharedConfigFiles"}, {name: "sharedCredentialsFiles"},
	{name: "assumeRole"}, {name: "assumeRoleWithWebIdentity"},
	{name: "stsRegion"}, {name: "maxRetries"}, {name: "retryMode"},
	{name: "accessKey", secret: true}, {name: "secretKey", secret: true}, {name: "token", secret: true},
}

// awsProviderKeys are the AWS provider's other settings (pulumi-aws v6
// ProviderArgs), refused because they are not passed on.
var awsProviderKeys = map[string]bool{
	"customCaBundle": true, "defaultTags": true, "ec2MetadataServiceEndpoint": true, "ec2MetadataServiceEndpointMode": true,
	"endpoints": true, "httpProxy": true, "httpsProxy": true, "ignoreTags": true, "insecure": true, "noProxy": true,
	"s3UsEast1RegionalEndpoint": true, "s3UsePathStyle": true, "skipCredentialsValidation": true,
	"skipMetadataApiCheck": true, "skipRegionValidation": true, "skipRequestingAccountId": true,
	"tokenBucketRateLimiterCapacity": true, "useDualstackEndpoint": true, "useFipsEndpoint": true,
	"assumeRoles": true, "sharedCredentialsFile": true,
}

func awsSettingByName(name string) (awsSetting, bool) {
	for _, s := range passedOnAWS {
		if s.name == name {
			return s, true
		}
	}
	return awsSetting{}, false
}

func passedOnNames() []string {
	out := make([]string, 0, len(passedOnAWS)+1)
	out = append(out, "region")
	for _, s := range passedOnAWS {
		out = append(out, s.name)
	}
	return out
}

// passedOnAWSKeys lists the passed-on keys qualified, for messages.
func passedOnAWSKeys() []string {
	var out []string
	for _, n := range passedOnNames() {
		out = append(out, "aws:"+n)
	}
	sort.Strings(out)
	return out
}

// PassedOnAWSKeys is the documented list of aws: keys every explicit AWS
// provider receives (README "AWS account and credentials").
func PassedOnAWSKeys() []string { return passedOnAWSKeys() }

var (
	accountID = regexp.MustCompile(`^\d{12}$`)
	roleArn   = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]+$`)
)

// readAWSSettings reads the passed-on aws: keys. Whether plaintext
// credentials are refused is decided by accountKeys.
func readAWSSettings(src Source, p *problems) AWSSettings {
	var s AWSSettings
	get := func(name string) (string, bool) {
		v, ok := src.Get("aws:" + name)
		if ok && v == EncryptedPlaceholder {
			return "encrypted", true
		}
		return v, ok
	}
	list := func(name string) []string {
		v, ok := get(name)
		if !ok {
			return nil
		}
		var out []string
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			p.add("aws:"+name, v, "set a YAML list of strings, e.g. [\"123456789012\"]", "not a list of strings")
			return nil
		}
		return out
	}
	s.Profile, _ = get("profile")
	s.AllowedAccountIDs = list("allowedAccountIds")
	s.ForbiddenAccountIDs = list("forbiddenAccountIds")
	for key, ids := range map[string][]string{"aws:allowedAccountIds": s.AllowedAccountIDs, "aws:forbiddenAccountIds": s.ForbiddenAccountIDs} {
		for _, id := range ids {
			if !accountID.MatchString(id) {
				p.add(key, id, "list 12-digit AWS account IDs, quoted in YAML so that leading zeros stay, e.g. [\"012345678901\"]", "not an AWS account ID")
			}
		}
	}
	if len(s.AllowedAccountIDs) > 0 && len(s.ForbiddenAccountIDs) > 0 {
		p.add("aws:forbiddenAccountIds", strings.Join(s.ForbiddenAccountIDs, ","), "keep aws:allowedAccountIds and remove aws:forbiddenAccountIds",
			"the AWS provider refuses both lists together")
	}
	s.SharedConfigFiles = list("sharedConfigFiles")
	s.SharedCredentialsFiles = list("sharedCredentialsFiles")
	if v, ok := get("assumeRole"); ok {
		var ar AssumeRole
		if err := json.Unmarshal([]byte(v), &ar); err != nil || !roleArn.MatchString(ar.RoleArn) {
			p.add("aws:assumeRole", v, "set an object with the role's ARN, e.g. {roleArn: arn:aws:iam::123456789012:role/deploy, sessionName: auth-platform}",
				"not an assumeRole object with a roleArn")
		} else {
			s.AssumeRole = &ar
		}
	}
	if v, ok := get("assumeRoleWithWebIdentity"); ok {
		var ar AssumeRoleWithWebIdentity
		if err := json.Unmarshal([]byte(v), &ar); err != nil || !roleArn.MatchString(ar.RoleArn) {
			p.add("aws:assumeRoleWithWebIdentity", v, "set an object with the role's ARN and webIdentityTokenFile",
				"not an assumeRoleWithWebIdentity object with a roleArn")
		} else {
			s.AssumeRoleWithWebIdentity = &ar
		}
	}
	if v, ok := get("stsRegion"); ok {
		if !KnownRegion(v) {
			p.add("aws:stsRegion", v, "use a region code such as us-east-1", "unknown AWS region")
		}
		s.StsRegion = v
	}
	if v, ok := get("maxRetries"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			p.add("aws:maxRetries", v, "set a whole number from 0 to 100 (the provider's default is 25)", "not a retry count")
		} else {
			s.MaxRetries = &n
		}
	}
	if v, ok := get("retryMode"); ok {
		if v != "standard" && v != "adaptive" {
			p.add("aws:retryMode", v, "set standard or adaptive", "unknown retry mode")
		}
		s.RetryMode = v
	}
	s.AccessKey, _ = get("accessKey")
	s.SecretKey, _ = get("secretKey")
	s.Token, _ = get("token")
	checkSignable(s, p)
	return s
}

// checkSignable refuses the settings the kubeconfig's `aws eks get-token`
// cannot reproduce (cluster.Signer says what it takes): Kubernetes would
// then see another principal than the AWS provider that created the
// cluster, or none. Settings that shape only the session (its name,
// duration, session policies, the STS region, retries) leave the principal
// as it is and pass.
func checkSignable(s AWSSettings, p *problems) {
	const why = "the kubeconfig signs Kubernetes requests with `aws eks get-token`, which"
	if ar := s.AssumeRole; ar != nil {
		for _, f := range []struct {
			field string
			set   bool
		}{
			{"externalId", ar.ExternalID != ""}, {"sourceIdentity", ar.SourceIdentity != ""},
			{"tags", len(ar.Tags) > 0}, {"transitiveTagKeys", len(ar.TransitiveTagKeys) > 0},
		} {
			if field := f.field; f.set {
				p.add("aws:assumeRole", "roleArn "+ar.RoleArn+", "+field+" set",
					"drop "+field+" from aws:assumeRole (let the role's trust policy admit your principal without it), or run Pulumi with the role's own credentials and no aws:assumeRole",
					"%s assumes the role with --role-arn and no %s, so it could not sign as the role the AWS provider assumes", why, field)
			}
		}
	}
	if ar := s.AssumeRoleWithWebIdentity; ar != nil {
		if ar.WebIdentityToken != "" {
			p.add("aws:assumeRoleWithWebIdentity", "webIdentityToken set",
				"write the token to a file and set webIdentityTokenFile instead",
				"%s reads a web identity token only from a file (AWS_WEB_IDENTITY_TOKEN_FILE)", why)
		}
		if s.AccessKey != "" || s.SecretKey != "" {
			p.add("aws:assumeRoleWithWebIdentity", "set with aws:accessKey",
				"keep one way of signing in: aws:assumeRoleWithWebIdentity or aws:accessKey/aws:secretKey",
				"static keys and a web identity are two principals, and the AWS provider and `aws eks get-token` would not pick the same one")
		}
	}
	for _, f := range []struct {
		key, env string
		files    []string
	}{
		{"aws:sharedConfigFiles", "AWS_CONFIG_FILE", s.SharedConfigFiles},
		{"aws:sharedCredentialsFiles", "AWS_SHARED_CREDENTIALS_FILE", s.SharedCredentialsFiles},
	} {
		if len(f.files) > 1 {
			p.add(f.key, strings.Join(f.files, ","), "merge them into one file and list that one",
				"%s reads one such file (%s), not a list", why, f.env)
		}
	}
}

// Signer is how the kubeconfig's `aws eks get-token` signs as the
// principal these settings make the AWS provider authenticate as.
func (s AWSSettings) Signer() cluster.Signer {
	sig := cluster.Signer{Profile: s.Profile, AccessKey: s.AccessKey, SecretKey: s.SecretKey, SessionToken: s.Token}
	if len(s.SharedConfigFiles) == 1 {
		sig.ConfigFile = s.SharedConfigFiles[0]
	}
	if len(s.SharedCredentialsFiles) == 1 {
		sig.CredentialsFile = s.SharedCredentialsFiles[0]
	}
	if ar := s.AssumeRole; ar != nil {
		sig.RoleArn = ar.RoleArn
	}
	if ar := s.AssumeRoleWithWebIdentity; ar != nil {
		sig.WebIdentityRoleArn, sig.WebIdentityTokenFile, sig.WebIdentitySessionName = ar.RoleArn, ar.WebIdentityTokenFile, ar.SessionName
	}
	return sig
}

// checkAccountPinned: a production stack names the account it deploys to,
// so credentials pointing elsewhere fail before anything is created.
func checkAccountPinned(src Source, c *Config, p *problems) {
	if !c.Production() {
		return
	}
	if v, ok := src.Get("aws:allowedAccountIds"); !ok || v == "" || v == "[]" {
		p.add("aws:allowedAccountIds", "", "name the production account: aws:allowedAccountIds: [\"123456789012\"]",
			"a production stack must name its AWS account, or a deploy lands wherever the shell's credentials point")
	}
}

// providerArgs are the arguments of one region's explicit AWS provider.
func (s AWSSettings) providerArgs(region string) *aws.ProviderArgs {
	args := &aws.ProviderArgs{Region: pulumi.String(region)}
	str := func(v string) pulumi.StringPtrInput {
		if v == "" {
			return nil
		}
		return pulumi.String(v)
	}
	arr := func(v []string) pulumi.StringArrayInput {
		if len(v) == 0 {
			return nil
		}
		return pulumi.ToStringArray(v)
	}
	args.Profile = str(s.Profile)
	args.AllowedAccountIds = arr(s.AllowedAccountIDs)
	args.ForbiddenAccountIds = arr(s.ForbiddenAccountIDs)
	args.SharedConfigFiles = arr(s.SharedConfigFiles)
	args.SharedCredentialsFiles = arr(s.SharedCredentialsFiles)
	args.StsRegion = str(s.StsRegion)
	args.RetryMode = str(s.RetryMode)
	if s.MaxRetries != nil {
		args.MaxRetries = pulumi.IntPtr(*s.MaxRetries)
	}
	// NewProvider marks the credentials secret itself.
	args.AccessKey = str(s.AccessKey)
	args.SecretKey = str(s.SecretKey)
	args.Token = str(s.Token)
	if ar := s.AssumeRole; ar != nil {
		// externalId, sourceIdentity and session tags are refused
		// (checkSignable), so they never reach here.
		args.AssumeRole = aws.ProviderAssumeRoleArgs{
			RoleArn: pulumi.String(ar.RoleArn), SessionName: str(ar.SessionName),
			Duration: str(ar.Duration), Policy: str(ar.Policy), PolicyArns: arr(ar.PolicyArns),
		}
	}
	if ar := s.AssumeRoleWithWebIdentity; ar != nil {
		args.AssumeRoleWithWebIdentity = aws.ProviderAssumeRoleWithWebIdentityArgs{
			RoleArn: pulumi.String(ar.RoleArn), SessionName: str(ar.SessionName), Duration: str(ar.Duration),
			Policy: str(ar.Policy), PolicyArns: arr(ar.PolicyArns),
			WebIdentityToken: str(ar.WebIdentityToken), WebIdentityTokenFile: str(ar.WebIdentityTokenFile),
		}
	}
	return args
}

// String renders the settings without credentials, for messages.
func (s AWSSettings) String() string {
	return fmt.Sprintf("profile=%q allowedAccountIds=%v", s.Profile, s.AllowedAccountIDs)
}
