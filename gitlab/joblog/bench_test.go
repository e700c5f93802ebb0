package joblog

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// runnerLog builds a realistic runner-format log of about size bytes:
// the usual sections, then a step_script holding most of the output
// (timestamps, colours, a progress bar, collapsed user sections) and a
// short chat_reply at its end.
func runnerLog(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 4096)
	b.WriteString(logHead)
	for i := 0; b.Len() < size-300; i++ {
		writeLogLine(&b, i)
	}
	b.WriteString(logEnd)
	return b.Bytes()
}

const (
	logHead = "\x1b[0KRunning with gitlab-runner 17.6.0 (374d34fd)\x1b[0;m\n" +
		"section_start:1732262400:prepare_executor\r\x1b[0K\x1b[0K\x1b[36;1mPreparing the \"docker\" executor\x1b[0;m\x1b[0;m\n" +
		"\x1b[0KUsing Docker executor with image golang:1.23 ...\x1b[0;m\n" +
		"section_end:1732262409:prepare_executor\r\x1b[0Ksection_start:1732262410:get_sources\r\x1b[0K\x1b[0K\x1b[36;1mGetting source from Git repository\x1b[0;m\x1b[0;m\n" +
		"\x1b[32;1mFetching changes with git depth set to 20...\x1b[0;m\n" +
		"section_end:1732262412:get_sources\r\x1b[0Ksection_start:1732262412:step_script\r\x1b[0K\x1b[0K\x1b[36;1mExecuting \"step_script\" stage of the job script\x1b[0;m\x1b[0;m\n" +
		"\x1b[32;1m$ ./build.sh\x1b[0;m\n"
	logEnd = "section_start:1732262500:chat_reply\r\x1b[0K\nbuild done\nsection_end:1732262500:chat_reply\r\x1b[0K\n" +
		"section_end:1732262501:step_script\r\x1b[0Ksection_start:1732262501:cleanup_file_variables\r\x1b[0K\x1b[0K\x1b[36;1mCleaning up project directory and file based variables\x1b[0;m\x1b[0;m\n" +
		"section_end:1732262502:cleanup_file_variables\r\x1b[0K\x1b[32;1mJob succeeded\x1b[0;m\n"
)

func writeLogLine(b *bytes.Buffer, i int) {
	switch {
	case i%500 == 0:
		fmt.Fprintf(b, "section_start:1732262413:pkg_%d[collapsed=true]\r\x1b[0Kbuilding package %d\n", i, i)
	case i%500 == 499:
		fmt.Fprintf(b, "section_end:1732262414:pkg_%d\r\x1b[0K\n", i-499)
	case i%50 == 0:
		fmt.Fprintf(b, "2024-11-22T09:00:00.%06dZ 01O downloading  10%%\r\x1b[Kdownloading 100%%\n", i%1000000)
	default:
		fmt.Fprintf(b, "2024-11-22T09:00:00.%06dZ 01O \x1b[32;1mok\x1b[0;m  github.com/acme/deployer/internal/module%04d\t0.%03ds\n", i%1000000, i%10000, i%1000)
	}
}

// BenchmarkExtractReply streams logs of 1 MB and 64 MB through an Extractor
// in 32 KiB writes, as io.Copy from an HTTP body does. B/op and allocs/op
// must be the same for both sizes: memory follows the reply, not the log.
func BenchmarkExtractReply(b *testing.B) {
	for _, size := range []int{1 << 20, 64 << 20} {
		log := runnerLog(size)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			b.SetBytes(int64(len(log)))
			b.ReportAllocs()
			for b.Loop() {
				e := NewExtractor(64<<10, 20)
				for off := 0; off < len(log); off += 32 << 10 {
					_, _ = e.Write(log[off:min(off+32<<10, len(log))])
				}
				if r := e.Result(); r.Section != "chat_reply" || r.Output != "build done" {
					b.Fatalf("result %+v", r)
				}
			}
		})
	}
}

// generatedLog is an io.Reader producing a runner log of n bytes on the
// fly from one repeated block, so that neither the log nor its generation
// takes memory.
type generatedLog struct {
	n, done int
	block   []byte // whole log lines, repeated
	src     []byte // what is left to send of the current piece
	stage   int    // 0 head, 1 body, 2 end, 3 done
}

// logBlock returns whole log lines to repeat. Repeating it emits the same
// collapsed-section names many times (and an end without a start), which
// the two-marker rule ignores: only chat_reply, in logEnd, is a section.
func logBlock() []byte {
	var b bytes.Buffer
	for i := 1; i < 1000; i++ {
		writeLogLine(&b, i)
	}
	return b.Bytes()
}

func (g *generatedLog) Read(p []byte) (int, error) {
	for len(g.src) == 0 {
		switch {
		case g.stage == 0 || g.stage == 1 && g.done+len(g.block)+len(logEnd) <= g.n:
			g.stage, g.src = 1, g.block
		case g.stage == 1:
			g.stage, g.src = 2, []byte(logEnd)
		default:
			return 0, io.EOF
		}
	}
	k := copy(p, g.src)
	g.src = g.src[k:]
	g.done += k
	return k, nil
}

// BenchmarkExtractPeakHeap streams a 100 MB generated log through io.Copy
// into an Extractor (64 KiB reply limit) and reports the peak live heap
// seen while it ran, sampled every 200µs, and the heap in use before.
func BenchmarkExtractPeakHeap(b *testing.B) {
	const size = 100 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	block := logBlock()
	var peak atomic.Uint64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for b.Loop() {
		runtime.GC()
		metrics.Read(sample)
		base := sample[0].Value.Uint64()
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			t := time.NewTicker(200 * time.Microsecond)
			defer t.Stop()
			for {
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		e := NewExtractor(64<<10, 20)
		if _, err := io.Copy(e, &generatedLog{n: size, block: block, src: []byte(logHead)}); err != nil {
			b.Fatal(err)
		}
		r := e.Result()
		close(stop)
		<-sampled
		if r.Section != "chat_reply" || r.LogBytes < size-(1<<20) {
			b.Fatalf("result %+v", r)
		}
		b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
