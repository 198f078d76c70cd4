// Package accesslogs is the stack-owned S3 bucket the ALB writes its access
// logs to: encrypted, never public, reachable over TLS only, expiring old
// logs, with the bucket policy Elastic Load Balancing log delivery of the
// region needs.
package accesslogs

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
)

// DefaultRetentionDays of access logs before S3 expires them.
const DefaultRetentionDays = 90

// LogDeliveryService is the service principal of ELB log delivery in the
// regions opened in August 2022 or later.
const LogDeliveryService = "logdelivery.elasticloadbalancing.amazonaws.com"

// elbAccounts are the Elastic Load Balancing accounts that deliver access
// logs in the regions available before August 2022. Source: Elastic Load
// Balancing User Guide for Application Load Balancers, "Enable access logs
// for your Application Load Balancer", step "Attach a policy to your S3
// bucket" (table "Regions available before August 2022"); the same IDs are
// in the AWS provider's aws_elb_service_account data source. Every region
// not listed here is newer and uses LogDeliveryService.
var elbAccounts = map[string]string{
	"us-east-1":      "127311923021",
	"us-east-2":      "033677994240",
	"us-west-1":      "027434742980",
	"us-west-2":      "797873946194",
	"af-south-1":     "098369216593",
	"ap-east-1":      "754344448648",
	"ap-southeast-3": "589379963580",
	"ap-south-1":     "718504428378",
	"ap-northeast-3": "383597477331",
	"ap-northeast-2": "600734575887",
	"ap-southeast-1": "114774131450",
	"ap-southeast-2": "783225319266",
	"ap-northeast-1": "582318560864",
	"ca-central-1":   "985666609251",
	"eu-central-1":   "054676820928",
	"eu-west-1":      "156460612806",
	"eu-west-2":      "652711504416",
	"eu-south-1":     "635631232127",
	"eu-west-3":      "009996457667",
	"eu-north-1":     "897822967062",
	"me-south-1":     "076674570225",
	"sa-east-1":      "507241528517",
	"us-gov-west-1":  "048591011584",
	"us-gov-east-1":  "190560391635",
	"cn-north-1":     "638102146993",
	"cn-northwest-1": "037604701340",
}

// Deliverer is who writes access logs into the bucket in a region: the
// regional ELB account (older regions) or the log delivery service.
func Deliverer(partition, region string) iamdoc.Principal {
	if account, ok := elbAccounts[region]; ok {
		return iamdoc.Principal{AWS: []string{fmt.Sprintf("arn:%s:iam::%s:root", partition, account)}}
	}
	return iamdoc.Principal{Service: []string{LogDeliveryService}}
}

// BucketPolicy admits ELB log delivery under prefix/AWSLogs/<account>/ and
// refuses every request that does not use TLS.
func BucketPolicy(bucketArn, prefix, partition, region, accountID string) iamdoc.Document {
	deliverer := Deliverer(partition, region)
	write := iamdoc.Allow("ELBLogDelivery", []string{"s3:PutObject"}, fmt.Sprintf("%s/%s/AWSLogs/%s/*", bucketArn, prefix, accountID))
	write.Principal = &deliverer
	tlsOnly := iamdoc.Statement{
		Sid: "TLSOnly", Effect: "Deny", Principal: &iamdoc.Principal{AWS: []string{"*"}},
		Action: []string{"s3:*"}, Resource: []string{bucketArn, bucketArn + "/*"},
	}.When("Bool", "aws:SecureTransport", "false")
	return iamdoc.New(write, tlsOnly)
}

// Args configures a Bucket.
type Args struct {
	// Region, Partition and AccountID decide the bucket policy's principal
	// and scope. Required.
	Region    string
	Partition string
	AccountID string
	// Prefix is the key prefix the ALB writes under. Required.
	Prefix string
	// RetentionDays before logs expire. Default DefaultRetentionDays.
	RetentionDays int
	// ForceDestroy lets `pulumi destroy` delete a bucket that still holds
	// logs (dev). Default false.
	ForceDestroy bool
	// Namer and Tags name and tag everything. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// Bucket is the access-log bucket component.
type Bucket struct {
	pulumi.ResourceState

	// BucketName resolves once the bucket policy is in place, so an ALB
	// given it is configured only when delivery can succeed (the ALB writes
	// a test object when logging is turned on).
	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	BucketArn  pulumi.StringOutput `pulumi:"bucketArn"`
	Prefix     string
}

// Name is the bucket's physical name: S3 names are global, so it carries
// the account ID.
func Name(n naming.Namer, accountID string) string {
	return naming.Truncate(n.Name("alb-logs", accountID), 63) // mutation: equivalent — prefix (≤ 35) + "-alb-logs-" + 12 digits never reaches 63
}

// NewBucket creates the bucket and its settings. Pass the regional AWS
// provider.
func NewBucket(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Bucket, error) {
	if args == nil || args.Region == "" || args.AccountID == "" || args.Prefix == "" {
		return nil, fmt.Errorf("accesslogs %s: Region, AccountID and Prefix are required", name)
	}
	a := *args
	if a.RetentionDays == 0 {
		a.RetentionDays = DefaultRetentionDays
	}
	b := &Bucket{Prefix: a.Prefix}
	if err := ctx.RegisterComponentResource("authplatform:accesslogs:Bucket", name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)
	bucketName := Name(a.Namer, a.AccountID)

	bucket, err := s3.NewBucketV2(ctx, bucketName, &s3.BucketV2Args{
		Bucket:       pulumi.String(bucketName),
		ForceDestroy: pulumi.Bool(a.ForceDestroy),
		Tags:         pulumi.ToStringMap(a.Tags.WithName(bucketName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	block, err := s3.NewBucketPublicAccessBlock(ctx, bucketName, &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
	// ACLs off: every object belongs to the bucket owner, whoever wrote it.
	if _, err := s3.NewBucketOwnershipControls(ctx, bucketName, &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, err
	}
	// ALB access logs support SSE-S3 only, not SSE-KMS (ELB User Guide,
	// "Access log files": "The only server-side encryption option that's
	// supported is Amazon S3-managed keys (SSE-S3)").
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, bucketName, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, bucketName, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:         pulumi.String("expire-access-logs"), // mutation: equivalent — the rule ID only names the rule; nothing refers to it
			Status:     pulumi.String("Enabled"),
			Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(a.Prefix + "/")},
			Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.RetentionDays)},
			AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
				DaysAfterInitiation: pulumi.Int(1),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	policy := bucket.Arn.ApplyT(func(arn string) (string, error) {
		return BucketPolicy(arn, a.Prefix, a.Partition, a.Region, a.AccountID).JSON()
	}).(pulumi.StringOutput)
	// After the public access block: S3 refuses a policy that would be
	// public while the block is being set.
	bucketPolicy, err := s3.NewBucketPolicy(ctx, bucketName, &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: policy,
	}, parent, pulumi.DependsOn([]pulumi.Resource{block}))
	if err != nil {
		return nil, err
	}

	b.BucketArn = bucket.Arn
	b.BucketName = pulumi.All(bucket.Bucket, bucketPolicy.ID()).ApplyT(func(v []interface{}) string {
		return v[0].(string)
	}).(pulumi.StringOutput)
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{
		"bucketName": b.BucketName,
		"bucketArn":  b.BucketArn,
	}); err != nil {
		return nil, err
	}
	return b, nil
}
