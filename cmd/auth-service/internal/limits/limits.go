// Package limits reads the container's CPU and memory limits from its
// cgroup (v1 or v2), the way the Go runtime reads the CPU limit for
// GOMAXPROCS (src/runtime/cgroup_linux.go, internal/runtime/cgroup), so
// that the service sizes its password hashing to the CPU it is given
// (internal/password) instead of to the host's cores.
//
// A limit is the smallest one set on the process's cgroup or any of its
// ancestors up to the hierarchy's mount point. No limit anywhere (a
// laptop, a test) is reported as zero, and the caller falls back to the
// host: runtime.NumCPU for CPU, nothing for memory.
package limits

import (
	"bufio"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
)

// Limits are the container's.
type Limits struct {
	// CPU is the CPU bandwidth limit in cores (quota / period), e.g. 0.5
	// for a 500m container; 0 when none is set.
	CPU float64
	// MemoryBytes is the memory limit; 0 when none is set.
	MemoryBytes int64
}

// CPUOrHost is the CPU limit, or the host's CPU count when there is none.
func (l Limits) CPUOrHost() float64 {
	if l.CPU > 0 {
		return l.CPU
	}
	return float64(runtime.NumCPU())
}

// Read reads the limits of this process's cgroups from the real /proc and
// /sys. Whatever it cannot read counts as no limit.
func Read() Limits { return ReadFS(os.DirFS("/")) }

// ReadFS reads the limits from fsys, a root filesystem holding
// proc/self/mountinfo, proc/self/cgroup and the cgroup mounts (tests pass
// a fake tree).
func ReadFS(fsys fs.FS) Limits {
	mounts := readMounts(fsys)
	groups := readGroups(fsys)
	var l Limits
	for _, m := range mounts {
		if m.v2 {
			dir, ok := m.dir(groups[""])
			if !ok {
				continue
			}
			walk(fsys, m.point, dir, func(d string) {
				if q, p, ok := cpuMax(fsys, d); ok {
					l.CPU = minPositive(l.CPU, q/p)
				}
				if b, ok := readInt(fsys, path.Join(d, "memory.max")); ok {
					l.MemoryBytes = minPositive(l.MemoryBytes, b)
				}
			})
			continue
		}
		for _, c := range m.controllers {
			dir, ok := m.dir(groups[c])
			if !ok {
				continue
			}
			switch c {
			case "cpu":
				walk(fsys, m.point, dir, func(d string) {
					q, okq := readInt(fsys, path.Join(d, "cpu.cfs_quota_us"))
					p, okp := readInt(fsys, path.Join(d, "cpu.cfs_period_us"))
					if okq && okp && q > 0 && p > 0 {
						l.CPU = minPositive(l.CPU, float64(q)/float64(p))
					}
				})
			case "memory":
				walk(fsys, m.point, dir, func(d string) {
					// v1 reports "no limit" as a huge page-rounded number.
					if b, ok := readInt(fsys, path.Join(d, "memory.limit_in_bytes")); ok && b < 1<<62 {
						l.MemoryBytes = minPositive(l.MemoryBytes, b)
					}
				})
			}
		}
	}
	return l
}

// mount is one cgroup hierarchy's mount (a line of mountinfo).
type mount struct {
	root, point string
	v2          bool
	controllers []string // v1 only
}

// dir is the directory of the cgroup group (as /proc/self/cgroup names it)
// under this mount, when the group lies under the mount's root.
func (m mount) dir(group string) (string, bool) {
	if group == "" {
		return "", false
	}
	rel := group
	if m.root != "/" {
		if group != m.root && !strings.HasPrefix(group, m.root+"/") {
			return "", false
		}
		rel = strings.TrimPrefix(group, m.root)
	}
	return path.Join(m.point, rel), true
}

// readMounts parses proc/self/mountinfo (proc(5)): "ID PARENT MAJ:MIN ROOT
// POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".
func readMounts(fsys fs.FS) []mount {
	f, err := fsys.Open("proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 {
			continue
		}
		m := mount{root: unescape(fields[3]), point: strings.TrimPrefix(unescape(fields[4]), "/")}
		switch fields[sep+1] {
		case "cgroup2":
			m.v2 = true
		case "cgroup":
			for _, o := range strings.Split(fields[sep+3], ",") {
				if o == "cpu" || o == "memory" {
					m.controllers = append(m.controllers, o)
				}
			}
			if len(m.controllers) == 0 {
				continue
			}
		default:
			continue
		}
		out = append(out, m)
	}
	return out
}

// readGroups parses proc/self/cgroup: "ID:CONTROLLERS:PATH"; the v2 group
// (ID 0, no controllers) is under "".
func readGroups(fsys fs.FS) map[string]string {
	b, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return nil
	}
	groups := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			groups[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			groups[c] = parts[2]
		}
	}
	return groups
}

// walk calls visit on dir and each parent up to the mount point.
func walk(fsys fs.FS, point, dir string, visit func(string)) {
	for {
		visit(dir)
		if dir == point || dir == "." || dir == "" || !strings.HasPrefix(dir, point) {
			return
		}
		dir = path.Dir(dir)
	}
}

// cpuMax reads v2's cpu.max: "QUOTA PERIOD" or "max PERIOD".
func cpuMax(fsys fs.FS, dir string) (float64, float64, bool) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "cpu.max"))
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 || f[0] == "max" {
		return 0, 0, false
	}
	q, err1 := strconv.ParseFloat(f[0], 64)
	p, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, 0, false
	}
	return q, p, true
}

func readInt(fsys fs.FS, name string) (int64, bool) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

func minPositive[T int64 | float64](cur, v T) T {
	if v <= 0 {
		return cur
	}
	if cur <= 0 || v < cur {
		return v
	}
	return cur
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
