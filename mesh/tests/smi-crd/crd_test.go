// Package smicrd checks the TrafficSplit CRD that the mesh tests install
// (../crds) field by field against the published v1alpha2 API: the Go types of
// github.com/servicemeshinterface/smi-sdk-go v0.5.0, pkg/apis/split/v1alpha2.
package smicrd

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	splitv1alpha2 "github.com/servicemeshinterface/smi-sdk-go/pkg/apis/split/v1alpha2"
	"sigs.k8s.io/yaml"
)

const crdFile = "../crds/trafficsplits.split.smi-spec.io.yaml"

type schema struct {
	Type       string            `json:"type"`
	Properties map[string]schema `json:"properties"`
	Items      *schema           `json:"items"`
	Required   []string          `json:"required"`
}

type crd struct {
	Spec struct {
		Group    string                `json:"group"`
		Names    struct{ Kind string } `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Served bool   `json:"served"`
			Schema struct {
				OpenAPIV3Schema schema `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

func v1alpha2Schema(t *testing.T) schema {
	t.Helper()
	raw, err := os.ReadFile(crdFile)
	if err != nil {
		t.Fatal(err)
	}
	var c crd
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", crdFile, err)
	}
	if c.Spec.Group != splitv1alpha2.SchemeGroupVersion.Group || c.Spec.Names.Kind != "TrafficSplit" {
		t.Fatalf("%s defines %s in %s, want TrafficSplit in %s", crdFile, c.Spec.Names.Kind, c.Spec.Group,
			splitv1alpha2.SchemeGroupVersion.Group)
	}
	for _, v := range c.Spec.Versions {
		if v.Name == splitv1alpha2.SchemeGroupVersion.Version && v.Served {
			return v.Schema.OpenAPIV3Schema
		}
	}
	t.Fatalf("%s serves no %s", crdFile, splitv1alpha2.SchemeGroupVersion.Version)
	return schema{}
}

// jsonField is one field of a Go API type as it appears on the wire.
type jsonField struct {
	name      string
	omitempty bool
	typ       reflect.Type
}

func jsonFields(t reflect.Type) []jsonField {
	var fields []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, options, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields = append(fields, jsonField{name: name, omitempty: strings.Contains(options, "omitempty"), typ: f.Type})
	}
	return fields
}

// openAPITypes are the schema types a Go kind may be declared as.
func openAPITypes(k reflect.Kind) []string {
	switch k {
	case reflect.String:
		return []string{"string"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return []string{"integer", "number"}
	case reflect.Slice:
		return []string{"array"}
	case reflect.Struct:
		return []string{"object"}
	}
	return nil
}

// problems walks the Go type and the schema together: the same property
// names, compatible types, and every field without omitempty required.
func problems(path string, goType reflect.Type, s schema) []string {
	want := openAPITypes(goType.Kind())
	if !slices.Contains(want, s.Type) {
		return []string{fmt.Sprintf("%s: CRD type %q, Go type %s wants one of %v", path, s.Type, goType, want)}
	}
	var found []string
	switch goType.Kind() {
	case reflect.Slice:
		if s.Items == nil {
			return []string{path + ": an array without items"}
		}
		found = append(found, problems(path+"[]", goType.Elem(), *s.Items)...)
	case reflect.Struct:
		var goNames, crdNames []string
		for _, f := range jsonFields(goType) {
			goNames = append(goNames, f.name)
			if prop, ok := s.Properties[f.name]; ok {
				found = append(found, problems(path+"."+f.name, f.typ, prop)...)
			}
			if !f.omitempty && !slices.Contains(s.Required, f.name) {
				found = append(found, fmt.Sprintf("%s.%s: required by the Go type (no omitempty), not by the CRD", path, f.name))
			}
		}
		for name := range s.Properties {
			crdNames = append(crdNames, name)
		}
		for _, name := range s.Required {
			if !slices.Contains(goNames, name) {
				found = append(found, fmt.Sprintf("%s: the CRD requires %q, which v1alpha2 does not have", path, name))
			}
		}
		sort.Strings(goNames)
		sort.Strings(crdNames)
		if !reflect.DeepEqual(goNames, crdNames) {
			found = append(found, fmt.Sprintf("%s: CRD properties %v, v1alpha2 fields %v", path, crdNames, goNames))
		}
	}
	return found
}

var specType = reflect.TypeOf(splitv1alpha2.TrafficSplitSpec{})

func TestTrafficSplitCRDMatchesTheV1alpha2Types(t *testing.T) {
	spec, ok := v1alpha2Schema(t).Properties["spec"]
	if !ok {
		t.Fatal("the CRD's v1alpha2 schema has no spec")
	}
	for _, problem := range problems("spec", specType, spec) {
		t.Error(problem)
	}
}

// The check itself can fail: a v1alpha3 field (matches), a wrong type and a
// missing required field are each caught.
func TestTheCheckCatchesWhatV1alpha2DoesNotHave(t *testing.T) {
	mutations := map[string]func(spec *schema){
		"matches (v1alpha3)": func(spec *schema) {
			spec.Properties["matches"] = schema{Type: "array", Items: &schema{Type: "object"}}
		},
		"weight as a string": func(spec *schema) {
			spec.Properties["backends"].Items.Properties["weight"] = schema{Type: "string"}
		},
		"weight not required": func(spec *schema) { spec.Properties["backends"].Items.Required = []string{"service"} },
	}
	for name, mutate := range mutations {
		spec := v1alpha2Schema(t).Properties["spec"] // a fresh copy each time
		mutate(&spec)
		if len(problems("spec", specType, spec)) == 0 {
			t.Errorf("a CRD with %s passed the v1alpha2 check", name)
		}
	}
}
