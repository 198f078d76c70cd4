package realparts

import (
	"fmt"
	"net"
)

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago. They are held open together so that no two are the same; another
// process may still take one before it is bound, which is why the starters
// retry on a bind failure.
func FreePorts(n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("realparts: free port %d of %d: %w", i+1, n, err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
