package release_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/deployctl/deployctl/pkg/release"
)

// BenchmarkStageAll stages an 80 MB rev (4000 incompressible files of
// 20 KB, about a Node service with its node_modules) to 10 hosts, each its
// own sshd on loopback, the way a rollout's stage phase does.
// "fresh": nothing on the hosts yet, every byte is sent (SetBytes counts
// all 10 copies). "staged": the same rev again, so only the check runs.
func BenchmarkStageAll(b *testing.B) {
	const hosts, files, size = 10, 4000, 20 << 10
	f := startFleet(b, hosts)
	stream := tarOf(b, bigFiles(files, size))
	archive := archiveOf(stream, nil)
	ctx := context.Background()
	b.Logf("archive: %d files, %.1f MB", files, float64(len(stream))/(1<<20))

	b.Run("fresh", func(b *testing.B) {
		b.SetBytes(int64(len(stream)) * hosts)
		for i := 0; i < b.N; i++ {
			rev := fmt.Sprintf("%040x", i+1)
			if _, err := release.StageAll(ctx, f.hosts, rev, archive, release.StageOptions{Parallel: hosts}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for _, h := range f.hosts {
				if err := os.RemoveAll(h.Layout.Release(rev)); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
	})
	b.Run("staged", func(b *testing.B) {
		rev := fmt.Sprintf("%040x", 0xfeed)
		if _, err := release.StageAll(ctx, f.hosts, rev, archive, release.StageOptions{Parallel: hosts}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			results, err := release.StageAll(ctx, f.hosts, rev, archive, release.StageOptions{Parallel: hosts})
			if err != nil || !results[0].Skipped {
				b.Fatal(err, results[0])
			}
		}
	})
}
