// Command deployctl rolls a service's code or configuration across a fleet,
// host by host, out of the load balancer while each host changes, with an
// automatic return to the last good revision when anything looks wrong.
package main

import "os"

func main() { os.Exit(run(os.Args[1:])) }
