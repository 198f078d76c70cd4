package limits

import (
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// The layouts a pod, a container and a laptop show, each with the limits
// it must yield.
func TestReadFindsTheSmallestLimitOfTheGroupAndItsAncestors(t *testing.T) {
	v1Mounts := "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
		"32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n" +
		"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	v2Mount := "40 30 0:37 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	for _, tc := range []struct {
		name string
		fs   fstest.MapFS
		want Limits
	}{
		{
			name: "cgroup v1, the review's pod-sized group: 50000/100000 and 768 MiB",
			fs: fstest.MapFS{
				"proc/self/mountinfo":                                file(v1Mounts),
				"proc/self/cgroup":                                   file("4:memory:/pod/app\n2:cpuacct:/\n1:cpu:/pod\n"),
				"sys/fs/cgroup/cpu/cpu.cfs_quota_us":                 file("-1\n"),
				"sys/fs/cgroup/cpu/cpu.cfs_period_us":                file("100000\n"),
				"sys/fs/cgroup/cpu/pod/cpu.cfs_quota_us":             file("50000\n"),
				"sys/fs/cgroup/cpu/pod/cpu.cfs_period_us":            file("100000\n"),
				"sys/fs/cgroup/memory/memory.limit_in_bytes":         file("9223372036854771712\n"),
				"sys/fs/cgroup/memory/pod/memory.limit_in_bytes":     file("805306368\n"),
				"sys/fs/cgroup/memory/pod/app/memory.limit_in_bytes": file("9223372036854771712\n"),
			},
			want: Limits{CPU: 0.5, MemoryBytes: 805306368},
		},
		{
			name: "cgroup v2, a limit on the parent tighter than the group's",
			fs: fstest.MapFS{
				"proc/self/mountinfo":                        file(v2Mount),
				"proc/self/cgroup":                           file("0::/kubepods/pod1/ctr\n"),
				"sys/fs/cgroup/kubepods/pod1/cpu.max":        file("50000 100000\n"),
				"sys/fs/cgroup/kubepods/pod1/memory.max":     file("1073741824\n"),
				"sys/fs/cgroup/kubepods/pod1/ctr/cpu.max":    file("max 100000\n"),
				"sys/fs/cgroup/kubepods/pod1/ctr/memory.max": file("805306368\n"),
			},
			want: Limits{CPU: 0.5, MemoryBytes: 805306368},
		},
		{
			name: "cgroup v2 in a cgroup namespace: the group is the mount's root",
			fs: fstest.MapFS{
				"proc/self/mountinfo":          file("40 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
				"proc/self/cgroup":             file("0::/\n"),
				"sys/fs/cgroup/cpu.max":        file("25000 100000\n"),
				"sys/fs/cgroup/memory.max":     file("max\n"),
				"sys/fs/cgroup/memory.current": file("1\n"),
			},
			want: Limits{CPU: 0.25},
		},
		{
			name: "cgroup v2 mounted from a sub-tree (mountinfo root is not /)",
			fs: fstest.MapFS{
				"proc/self/mountinfo":                 file("40 30 0:37 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
				"proc/self/cgroup":                    file("0::/kubepods/pod2\n"),
				"sys/fs/cgroup/pod2/cpu.max":          file("200000 100000\n"),
				"sys/fs/cgroup/pod2/memory.max":       file("2147483648\n"),
				"sys/fs/cgroup/kubepods/pod2/cpu.max": file("1 100000\n"), // not this mount's path
			},
			want: Limits{CPU: 2, MemoryBytes: 2147483648},
		},
		{
			name: "no limit anywhere (a laptop, a test)",
			fs: fstest.MapFS{
				"proc/self/mountinfo":                        file(v1Mounts + v2Mount),
				"proc/self/cgroup":                           file("4:memory:/\n1:cpu:/\n0::/\n"),
				"sys/fs/cgroup/cpu/cpu.cfs_quota_us":         file("-1\n"),
				"sys/fs/cgroup/cpu/cpu.cfs_period_us":        file("100000\n"),
				"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n"),
			},
			want: Limits{},
		},
		{name: "no /proc at all", fs: fstest.MapFS{}, want: Limits{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ReadFS(tc.fs))
		})
	}
}

func TestCPUOrHostFallsBackToTheHostsCores(t *testing.T) {
	assert.Equal(t, 0.5, Limits{CPU: 0.5}.CPUOrHost())
	assert.Equal(t, float64(runtime.NumCPU()), Limits{}.CPUOrHost())
}

func TestMountinfoEscapes(t *testing.T) {
	assert.Equal(t, "/sys/fs/cgroup/a b", unescape(`/sys/fs/cgroup/a\040b`))
	assert.Equal(t, "plain", unescape("plain"))
}
