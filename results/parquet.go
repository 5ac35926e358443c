package results

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// ReadTableParquet reads a Table written by WriteParquet: its columns (names
// and types as the file declares them), its rows and its key-value metadata.
// Readers other than llem need none of this; it is for checking what llem
// wrote.
func ReadTableParquet(path string) (*Table, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	meta := make(map[string]string)
	for _, kv := range pf.Metadata().KeyValueMetadata {
		meta[kv.Key] = kv.Value
	}
	t := &Table{Name: pf.Schema().Name(), SchemaVersion: meta[MetaTableSchemaVersion]}
	for _, field := range pf.Schema().Fields() {
		t.Columns = append(t.Columns, Column{Name: field.Name(), Type: parquetColumnType(field)})
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			cells := make([]any, len(t.Columns))
			for _, v := range row {
				cells[v.Column()] = tableCell(v, t.Columns[v.Column()].Type)
			}
			t.Rows = append(t.Rows, cells)
		}
		if errors.Is(err, io.EOF) {
			return t, meta, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

func parquetColumnType(f parquet.Field) ColumnType {
	if lt := f.Type().LogicalType(); lt != nil && isTimestamp(lt.Value) {
		return TypeTimestamp
	}
	switch f.Type().Kind() {
	case parquet.Int64, parquet.Int32:
		return TypeInt64
	case parquet.Double, parquet.Float:
		return TypeDouble
	case parquet.Boolean:
		return TypeBool
	}
	return TypeString
}

func tableCell(v parquet.Value, t ColumnType) any {
	if v.IsNull() {
		return nil
	}
	switch t {
	case TypeInt64:
		return v.Int64()
	case TypeDouble:
		return v.Double()
	case TypeBool:
		return v.Boolean()
	case TypeTimestamp:
		return time.UnixMicro(v.Int64()).UTC()
	}
	return string(v.ByteArray())
}

func isTimestamp(v format.LogicalTypeValue) bool {
	_, ok := v.(*format.TimestampType)
	return ok
}
