package energy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultThermalRoot is where Linux exposes CPU thermal zones.
const DefaultThermalRoot = "/sys/class/thermal"

// ThermalReader reads the device temperature that gates temperature gaps
// between study runs: the hottest GPU through NVML where there is one, else
// the hottest CPU thermal zone.
type ThermalReader struct {
	gpu   Sampler
	zones []string
}

// OpenThermal finds a temperature source. thermalRoot is the thermal-zone
// folder (DefaultThermalRoot when empty). It returns an error saying what
// was tried when nothing can be read.
func OpenThermal(thermalRoot string, disableNVML bool) (*ThermalReader, error) {
	var reasons []error
	if !disableNVML {
		s, err := OpenNVML(NVMLOptions{})
		if err == nil {
			return &ThermalReader{gpu: s}, nil
		}
		reasons = append(reasons, fmt.Errorf("gpu: %w", err))
	}
	if thermalRoot == "" {
		thermalRoot = DefaultThermalRoot
	}
	zones, _ := filepath.Glob(filepath.Join(thermalRoot, "thermal_zone*", "temp"))
	var readable []string
	for _, z := range zones {
		if _, err := readMilliCelsius(z); err == nil {
			readable = append(readable, z)
		}
	}
	if len(readable) > 0 {
		return &ThermalReader{zones: readable}, nil
	}
	reasons = append(reasons, fmt.Errorf("cpu: no readable thermal zone under %s", thermalRoot))
	return nil, fmt.Errorf("no temperature sensor: %w", errors.Join(reasons...))
}

// TemperatureC returns the hottest reading in degrees Celsius.
func (t *ThermalReader) TemperatureC(context.Context) (float64, error) {
	if t.gpu != nil {
		r, err := t.gpu.Read()
		if err != nil {
			return 0, err
		}
		hottest, ok := 0.0, false
		for _, d := range r.Domains {
			if d.HasTemp && (!ok || d.TempC > hottest) {
				hottest, ok = d.TempC, true
			}
		}
		if !ok {
			return 0, errors.New("NVML reported no GPU temperature")
		}
		return hottest, nil
	}
	hottest := 0.0
	for i, z := range t.zones {
		c, err := readMilliCelsius(z)
		if err != nil {
			return 0, err
		}
		if i == 0 || c > hottest {
			hottest = c
		}
	}
	return hottest, nil
}

// Close releases NVML when it was opened.
func (t *ThermalReader) Close() error {
	if t.gpu != nil {
		return t.gpu.Stop()
	}
	return nil
}

func readMilliCelsius(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v / 1000, nil
}
