// Temporary: pins module dependencies while packages are being written in parallel. Removed at integration.
package main

import (
	_ "github.com/NVIDIA/go-nvml/pkg/nvml"
	_ "github.com/goccy/go-yaml"
	_ "github.com/invopop/jsonschema"
	_ "github.com/mattn/go-isatty"
	_ "github.com/moby/moby/client"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/prometheus/procfs/sysfs"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/shirou/gopsutil/v4/cpu"
	_ "github.com/spf13/cobra"
	_ "gonum.org/v1/gonum/stat"
	_ "gonum.org/v1/plot"
	_ "golang.org/x/term"
	_ "golang.org/x/sys/unix"
)


