package stacks

// regions are the AWS regions a stack may name, by partition. The list is
// checked before anything is created so that a typo such as "us-east1" is
// a configuration error, not a provider failure halfway through an update.
var regions = map[string][]string{
	"aws": {
		"af-south-1",
		"ap-east-1", "ap-east-2",
		"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ap-south-1", "ap-south-2",
		"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
		"ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
		"ca-central-1", "ca-west-1",
		"eu-central-1", "eu-central-2",
		"eu-north-1",
		"eu-south-1", "eu-south-2",
		"eu-west-1", "eu-west-2", "eu-west-3",
		"il-central-1",
		"me-central-1", "me-south-1",
		"mx-central-1",
		"sa-east-1",
		"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	},
	"aws-us-gov": {"us-gov-east-1", "us-gov-west-1"},
	"aws-cn":     {"cn-north-1", "cn-northwest-1"},
}

// KnownRegion reports whether name is an AWS region code.
func KnownRegion(name string) bool {
	for _, rs := range regions {
		for _, r := range rs {
			if r == name {
				return true
			}
		}
	}
	return false
}
