package stacks

// Teardown is how the stack's resources meet `pulumi destroy`. It is
// derived once, in validation, from environment, protectStatefulResources
// and decommission; every component takes its part from here.
//
// A production stack protects its data twice: in Pulumi (protect, so
// `pulumi destroy` refuses) and in AWS (deletion protection on the ALB, the
// Aurora clusters and the global cluster, so no one API call deletes them),
// and its log bucket and image repository refuse to go while they hold
// objects. `decommission: true` keeps every production check of the
// configuration but lifts all of these at once, so that `pulumi up` (which
// changes only these settings, in place) then `pulumi destroy` removes the
// stack. What outlives it: the Aurora final snapshot and the KMS key it is
// encrypted with (components/database), and whatever the operator archived
// first; see README, "Decommissioning a production stack".
type Teardown struct {
	// Protect is Pulumi's protect option on the stateful resources (VPC,
	// cluster, data stores, their keys and secrets, the log bucket).
	Protect bool
	// DeletionProtection makes AWS refuse DeleteLoadBalancer,
	// DeleteDBCluster and DeleteGlobalCluster.
	DeletionProtection bool
	// ForceDestroy lets the access-log bucket and the image repository be
	// deleted with their contents (S3 forceDestroy, ECR forceDelete).
	ForceDestroy bool
	// FinalSnapshot: Aurora takes a snapshot when its cluster is deleted,
	// and the snapshot's key outlives the stack (dev alone skips it, so
	// that `pulumi destroy` leaves nothing behind).
	FinalSnapshot bool
}

// deriveTeardown is the one statement of the rules above.
func (c *Config) deriveTeardown() Teardown {
	protect := c.ProtectStatefulResources && !c.Decommission
	return Teardown{
		Protect:            protect,
		DeletionProtection: protect,
		ForceDestroy:       !protect,
		FinalSnapshot:      c.Environment != "dev",
	}
}

// validateDecommission refuses a decommission that has nothing to lift: a
// stack whose resources are not protected is removed by `pulumi destroy`
// as it is, and the key would only hide that it was set by mistake.
func (c *Config) validateDecommission(p *problems) {
	if c.Decommission && !c.ProtectStatefulResources {
		p.add(q("decommission"), "true", "remove decommission: `pulumi destroy` removes this stack as it is",
			"nothing to lift: without protectStatefulResources nothing in the stack refuses `pulumi destroy`")
	}
}

// decommissionWarning is what every preview and up of a decommissioned
// stack says, so that the key is not left set by accident.
func (c *Config) decommissionWarning() string {
	return "decommission is set: Pulumi protect and AWS deletion protection are lifted, and the log bucket and image " +
		"repository will be deleted with their contents. `pulumi destroy` now removes " + c.Stack +
		"; what it keeps is in README, \"Decommissioning a production stack\". Unset decommission to protect the stack again"
}
