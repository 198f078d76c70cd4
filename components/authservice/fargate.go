package authservice

import (
	"fmt"
	"math"
	"strconv"
)

// FargateOverheadMiB is what Fargate adds to a pod's memory request for the
// kubelet and friends before it picks a size; a pod whose container asks
// for size-256 MiB gets exactly that size.
const FargateOverheadMiB = 256

// FargateSize is one of the vCPU/memory combinations EKS on Fargate runs.
type FargateSize struct {
	VCPU      float64
	MemoryGiB float64
}

// fargateMemory lists, per vCPU, the memory sizes (GiB) EKS on Fargate
// offers: the documented table up to 4 vCPU.
var fargateMemory = map[float64][]float64{
	0.25: {0.5, 1, 2},
	0.5:  steps(1, 4, 1),
	1:    steps(2, 8, 1),
	2:    steps(4, 16, 1),
	4:    steps(8, 30, 1),
}

func steps(from, to, by float64) []float64 {
	var out []float64
	for v := from; v <= to; v += by {
		out = append(out, v)
	}
	return out
}

// ValidFargateCPU reports whether vcpu is one of the vCPU sizes of EKS on
// Fargate, so that a bad size is blamed on its CPU when the CPU is wrong.
func ValidFargateCPU(vcpu float64) bool {
	_, ok := fargateMemory[vcpu]
	return ok
}

// Check reports whether s is an EKS Fargate size, explaining which memory
// sizes go with the vCPU when it is not.
func (s FargateSize) Check() error {
	mems, ok := fargateMemory[s.VCPU]
	if !ok {
		return fmt.Errorf("%s vCPU is not a Fargate size (0.25, 0.5, 1, 2 or 4)", fmtNum(s.VCPU))
	}
	for _, m := range mems {
		if m == s.MemoryGiB {
			return nil
		}
	}
	return fmt.Errorf("%s GiB does not go with %s vCPU on Fargate (%s to %s GiB)", fmtNum(s.MemoryGiB), fmtNum(s.VCPU),
		fmtNum(mems[0]), fmtNum(mems[len(mems)-1]))
}

// CPU is the container's request and limit, e.g. "500m".
func (s FargateSize) CPU() string { return strconv.Itoa(int(math.Round(s.VCPU*1000))) + "m" }

// Memory is the container's request and limit: the size minus Fargate's
// overhead, e.g. "768Mi" for 1 GiB.
func (s FargateSize) Memory() string { return strconv.Itoa(s.memoryMiB()) + "Mi" }

func (s FargateSize) memoryMiB() int { return int(math.Round(s.MemoryGiB*1024)) - FargateOverheadMiB }

// GoMemLimit is the container's GOMEMLIMIT, three quarters of its memory
// limit, e.g. "576MiB" for 1 GiB (768Mi). Go does not read the cgroup's
// memory limit itself; without GOMEMLIMIT its heap grows to twice the live
// heap and a burst of argon2 hashes (46 MiB each) reached 532 MiB of the
// 768 MiB limit (review M3). The quarter left is for what GOMEMLIMIT does
// not cover (the binary's pages, the kernel's socket buffers charged to the
// cgroup) and for the limit being soft: a live heap above it grows past
// it. cmd/auth-service/README.md, "Memory", has the measured peak.
func (s FargateSize) GoMemLimit() string { return strconv.Itoa(s.memoryMiB()*3/4) + "MiB" }

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
