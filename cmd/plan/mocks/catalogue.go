package mocks

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// catalogueJSON is the snapshot of what AWS offers that the preflight's
// lookups are answered from offline: its date, sources and the AWS CLI
// command that refreshes each part are in the file.
//
//go:embed catalogue.json
var catalogueJSON []byte

// Catalogue is the parsed snapshot.
type Catalogue struct {
	AsOf               string                 `json:"asOf"`
	Note               string                 `json:"note"`
	EKSClusterVersions EKSClusterVersions     `json:"eksClusterVersions"`
	AuroraVersions     AuroraVersions         `json:"auroraPostgresqlVersions"`
	AuroraClasses      FamilyCatalogue        `json:"auroraPostgresqlInstanceClasses"`
	CacheNodeTypes     CacheNodeTypeOfferings `json:"elasticacheNodeTypes"`
}

// Section is what every part of the catalogue states.
type Section struct {
	Sources []string `json:"sources"`
	CLI     string   `json:"cli"`
}

// EKSClusterVersions answers aws:eks/getClusterVersions.
type EKSClusterVersions struct {
	Section
	Versions []map[string]interface{} `json:"versions"`
}

// AuroraVersions answers aws:rds/getEngineVersion for aurora-postgresql.
type AuroraVersions struct {
	Section
	Versions []string `json:"versions"`
}

// FamilyCatalogue lists instance or node types by family.
type FamilyCatalogue struct {
	Section
	Families map[string][]string `json:"families"`
}

// CacheNodeTypeOfferings answers aws:elasticache/getReservedCacheNodeOffering.
type CacheNodeTypeOfferings struct {
	FamilyCatalogue
	ProductDescriptions []string `json:"productDescriptions"`
	OfferingTypes       []string `json:"offeringTypes"`
	Durations           []string `json:"durations"`
}

// LoadCatalogue parses the embedded snapshot.
func LoadCatalogue() (*Catalogue, error) {
	var c Catalogue
	if err := json.Unmarshal(catalogueJSON, &c); err != nil {
		return nil, fmt.Errorf("mocks: catalogue.json: %w", err)
	}
	return &c, nil
}

// Types expands the families to full type names with prefix ("db.",
// "cache."); the "serverless" family holds full names already.
func (f FamilyCatalogue) Types(prefix string) []string {
	var out []string
	for family, sizes := range f.Families {
		for _, size := range sizes {
			if strings.HasPrefix(size, prefix) {
				out = append(out, size)
				continue
			}
			out = append(out, prefix+family+"."+size)
		}
	}
	sort.Strings(out)
	return out
}

var catalogue = func() *Catalogue {
	c, err := LoadCatalogue()
	if err != nil {
		panic(err)
	}
	return c
}()

// lookups answer from the catalogue, and fail as the provider does when
// AWS has nothing that matches.
var lookups = map[string]func(region string, args resource.PropertyMap) (map[string]interface{}, error){
	"aws:eks/getClusterVersions:getClusterVersions":                             getClusterVersions,
	"aws:rds/getEngineVersion:getEngineVersion":                                 getEngineVersion,
	"aws:rds/getOrderableDbInstance:getOrderableDbInstance":                     getOrderableDbInstance,
	"aws:elasticache/getReservedCacheNodeOffering:getReservedCacheNodeOffering": getReservedCacheNodeOffering,
}

func str(args resource.PropertyMap, key string) string {
	if v, ok := args[resource.PropertyKey(key)]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func strs(args resource.PropertyMap, key string) []string {
	v, ok := args[resource.PropertyKey(key)]
	if !ok || !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func boolean(args resource.PropertyMap, key string) bool {
	v, ok := args[resource.PropertyKey(key)]
	return ok && v.IsBool() && v.BoolValue()
}

// getClusterVersions answers like DescribeClusterVersions: the versions EKS
// offers (standard and extended support), with includeAll the retired
// (UNSUPPORTED) ones too, filtered by status.
func getClusterVersions(region string, args resource.PropertyMap) (map[string]interface{}, error) {
	status := str(args, "versionStatus")
	var out []interface{}
	for _, v := range catalogue.EKSClusterVersions.Versions {
		if status != "" && v["status"] != status {
			continue
		}
		if v["status"] == "UNSUPPORTED" && !boolean(args, "includeAll") {
			continue
		}
		row := map[string]interface{}{"clusterType": "eks", "defaultPlatformVersion": "eks.1", "kubernetesPatchVersion": fmt.Sprint(v["clusterVersion"], ".0")}
		for k, val := range v {
			if k == "status" {
				k = "versionStatus"
			}
			row[k] = val
		}
		out = append(out, row)
	}
	return map[string]interface{}{"id": region, "clusterVersions": out}, nil
}

// getEngineVersion follows the provider's data source
// (terraform-provider-aws internal/service/rds/engine_version_data_source.go):
// available versions of the engine, narrowed by parameter group family,
// version and preferred versions, then the latest; its error texts.
func getEngineVersion(region string, args resource.PropertyMap) (map[string]interface{}, error) {
	engine := str(args, "engine")
	if engine != "aurora-postgresql" {
		return nil, fmt.Errorf("mocks: the catalogue holds only aurora-postgresql versions, not %s", engine)
	}
	var found []string
	family, version := str(args, "parameterGroupFamily"), str(args, "version")
	for _, v := range catalogue.AuroraVersions.Versions {
		if family != "" && family != engine+majorOf(v) {
			continue
		}
		if version != "" && v != version && !strings.HasPrefix(v, version+".") {
			continue
		}
		found = append(found, v)
	}
	input := fmt.Sprintf("{Engine: %s, EngineVersion: %q, DBParameterGroupFamily: %q}", engine, version, family)
	if len(found) == 0 {
		return nil, fmt.Errorf("no RDS engine versions found: %s", input)
	}
	if preferred := strs(args, "preferredVersions"); len(preferred) > 0 {
		var matches []string
		for _, p := range preferred {
			for _, v := range found {
				if p == v {
					matches = append(matches, v)
				}
			}
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no RDS engine versions match the criteria and preferred versions: %s\n%v", input, preferred)
		}
		found = matches[:1]
	}
	if boolean(args, "latest") {
		sort.Slice(found, func(i, j int) bool { return versionLess(found[i], found[j]) })
		found = found[len(found)-1:]
	}
	if len(found) > 1 {
		return nil, fmt.Errorf("multiple RDS engine versions (%v) match the criteria: %s", found, input)
	}
	v := found[0]
	return map[string]interface{}{
		"id": v, "engine": engine, "version": v, "versionActual": v, "status": "available",
		"parameterGroupFamily": engine + majorOf(v), "supportedModes": []interface{}{"provisioned", "global"},
	}, nil
}

// getOrderableDbInstance answers one engine, version and class.
func getOrderableDbInstance(region string, args resource.PropertyMap) (map[string]interface{}, error) {
	engine, version, class := str(args, "engine"), str(args, "engineVersion"), str(args, "instanceClass")
	// No version: the provider asks for AWS' default one, which the
	// catalogue has (every catalogue version offers every class).
	ok := engine == "aurora-postgresql" && (version == "" || contains(catalogue.AuroraVersions.Versions, version)) &&
		contains(catalogue.AuroraClasses.Types("db."), class)
	if !ok {
		return nil, fmt.Errorf("no RDS Orderable DB Instance Options found matching criteria; try different search")
	}
	var zones []interface{}
	for _, l := range "abc" {
		zones = append(zones, region+string(l))
	}
	return map[string]interface{}{
		"id": class, "engine": engine, "engineVersion": version, "instanceClass": class,
		"licenseModel": "postgresql-license", "storageType": "aurora", "availabilityZones": zones,
	}, nil
}

// getReservedCacheNodeOffering answers whether a node type is offered for
// an engine; the provider fails with an empty result when none matches.
func getReservedCacheNodeOffering(region string, args resource.PropertyMap) (map[string]interface{}, error) {
	c := catalogue.CacheNodeTypes
	nodeType, product := str(args, "cacheNodeType"), str(args, "productDescription")
	offering, duration := str(args, "offeringType"), str(args, "duration")
	if !contains(c.Types("cache."), nodeType) || !contains(c.ProductDescriptions, product) ||
		!contains(c.OfferingTypes, offering) || !contains(c.Durations, duration) {
		return nil, fmt.Errorf("reading ElastiCache Reserved Cache Node Offering: empty result")
	}
	return map[string]interface{}{
		"id": uuid("offering", region, nodeType, product), "offeringId": uuid("offering", region, nodeType, product),
		"cacheNodeType": nodeType, "productDescription": product, "offeringType": offering, "duration": duration,
		"fixedPrice": 0.0,
	}, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func majorOf(v string) string {
	major, _, _ := strings.Cut(v, ".")
	return major
}

// versionLess orders "16.9" before "16.10".
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}
