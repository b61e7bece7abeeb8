package stats

import (
	"math"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median of nothing is not NaN")
	}
	if got := MedianDuration([]time.Duration{3, 1, 2, 4}); got != 2 {
		t.Errorf("MedianDuration = %v, want 2", got)
	}
	if got := MedianDuration(nil); got != 0 {
		t.Errorf("MedianDuration of nothing = %v", got)
	}
	xs := []float64{2, 1}
	Median(xs)
	if xs[0] != 2 {
		t.Error("Median sorted its argument")
	}
}
