package main

import (
	"math"
	"testing"
)

func TestLambdaGBs(t *testing.T) {
	tests := []struct {
		mb   int
		ms   float64
		want float64
	}{
		{128, 0.2, 0.125 * 0.001}, // at least 1 ms
		{256, 13.1, 0.25 * 0.014}, // rounded up to the millisecond
		{1024, 100, 1 * 0.1},
	}
	for _, tt := range tests {
		if got := lambdaGBs(tt.mb, tt.ms); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("lambdaGBs(%d, %v): got %v, want %v", tt.mb, tt.ms, got, tt.want)
		}
	}
}

func TestCPUScale(t *testing.T) {
	for _, tt := range []struct {
		mb   int
		want float64
	}{{1769, 1}, {3008, 1}, {128, 1769.0 / 128}} {
		if got := cpuScale(tt.mb); got != tt.want {
			t.Errorf("cpuScale(%d): got %v, want %v", tt.mb, got, tt.want)
		}
	}
}

func TestChooseCheapestWithinTwiceTheBestP99(t *testing.T) {
	opts := []option{
		{mb: 128, p99Ms: 50, usdPerInv: 1},
		{mb: 256, p99Ms: 25, usdPerInv: 2},
		{mb: 1769, p99Ms: 20, usdPerInv: 5},
	}
	pick, best := choose(opts)
	if best.mb != 1769 {
		t.Errorf("best: got %d MB, want 1769", best.mb)
	}
	if pick.mb != 256 {
		t.Errorf("pick: got %d MB, want 256 (128 MB's p99 is more than twice the best)", pick.mb)
	}
}

func TestOptionsLeaveHeadroomOverRSS(t *testing.T) {
	m := &model{}
	for _, o := range m.options(1, 0, 0, 100) {
		if o.mb < 150 {
			t.Errorf("options for 100 MiB RSS include %d MB, want none under 150", o.mb)
		}
	}
}

func TestLogCost(t *testing.T) {
	gb := float64(1 << 30)
	got := logCost(gb, 30)
	want := LogsIngestGB + (gb*LogsStoredFraction+LogsEventMetadata)/gb*LogsStoreGBMo
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("logCost(1 GiB, 30 days): got %v, want %v", got, want)
	}
	if logCost(0, 30) != 0 {
		t.Error("logCost(0): want 0")
	}
}
