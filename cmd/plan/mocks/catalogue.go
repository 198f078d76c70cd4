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
	AuroraStorage      AuroraStorageTypes     `json:"auroraPostgresqlStorageTypes"`
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

// AuroraStorageTypes are the cluster storage types Aurora PostgreSQL offers:
// DescribeOrderableDBInstanceOptions lists every class once per storage
// type of the version.
type AuroraStorageTypes struct {
	Section
	Standard    string `json:"standard"`
	IOOptimized string `json:"ioOptimized"`
	// IOOptimizedFrom is, per major, the first minor that offers
	// I/O-Optimized.
	IOOptimizedFrom map[string]string `json:"ioOptimizedFrom"`
}

// Of lists the storage types a version is orderable with.
func (s AuroraStorageTypes) Of(version string) []string {
	from, ok := s.IOOptimizedFrom[majorOf(version)]
	if ok && !versionLess(version, from) {
		return []string{s.Standard, s.IOOptimized}
	}
	return []string{s.Standard}
}

// CacheNodeTypeOfferings answers aws:elasticache/getReservedCacheNodeOffering.
type CacheNodeTypeOfferings struct {
	FamilyCatalogue
	ProductDescriptions []string `json:"productDescriptions"`
	OfferingTypes       []string `json:"offeringTypes"`
	Durations           []string `json:"durations"`
	// Families whose reserved nodes are sold otherwise: other offering
	// types (older generations: Heavy Utilization only) or engines.
	OfferingTypesByFamily       map[string][]string `json:"offeringTypesByFamily"`
	ProductDescriptionsByFamily map[string][]string `json:"productDescriptionsByFamily"`
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

// getClusterVersions follows aws_eks_cluster_versions
// (DescribeClusterVersions): the versions EKS offers (standard and
// extended support), with includeAll the retired (UNSUPPORTED) ones too,
// narrowed by status, clusterVersionsOnly and defaultOnly. A list: no
// match is an empty answer. versionStatus is validated against EKS's
// ClusterVersionStatus values.
func getClusterVersions(q query) (map[string]interface{}, error) {
	const token = "aws:eks/getClusterVersions"
	status := q.str("versionStatus")
	if status != "" && !contains(versionStatuses, status) {
		return nil, fmt.Errorf("Attribute version_status value must be one of: %q, got: %q", versionStatuses, status)
	}
	if t := q.str("clusterType"); t != "" && t != "eks" {
		return nil, q.notModelled(token, "clusterType")
	}
	only := q.strs("clusterVersionsOnlies")
	var out []interface{}
	for _, v := range catalogue.EKSClusterVersions.Versions {
		if status != "" && v["status"] != status {
			continue
		}
		if v["status"] == "UNSUPPORTED" && !q.flag("includeAll") {
			continue
		}
		if len(only) > 0 && !contains(only, fmt.Sprint(v["clusterVersion"])) {
			continue
		}
		if q.flag("defaultOnly") && v["defaultVersion"] != true {
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
	return map[string]interface{}{"id": q.region, "clusterVersions": out}, nil
}

// versionStatuses are EKS's ClusterVersionStatus values.
var versionStatuses = []string{"UNSUPPORTED", "STANDARD_SUPPORT", "EXTENDED_SUPPORT"}

// getEngineVersion follows aws_rds_engine_version (terraform-provider-aws
// internal/service/rds/engine_version_data_source.go, aws-sdk-go-v2):
// DescribeDBEngineVersions for the engine, parameter group family and
// version (a partial version such as "16" matches its minors), then
// preferredVersions (every match, in the list's order), then latest (the
// newest), else exactly one result; its error texts. Without any criterion
// the data source asks AWS for its default version, which the catalogue
// does not mark: refused as not modelled.
func getEngineVersion(q query) (map[string]interface{}, error) {
	const token = "aws:rds/getEngineVersion"
	if err := q.notModelled(token, "filters", "includeAll", "hasMajorTarget", "hasMinorTarget",
		"preferredMajorTargets", "preferredUpgradeTargets", "defaultOnly"); err != nil {
		return nil, err
	}
	if !q.has("latest") && !q.has("preferredVersions") && !q.has("version") {
		return nil, fmt.Errorf("mocks: %s without version, preferredVersions or latest asks for AWS's default version, which the catalogue does not mark", token)
	}
	engine := q.str("engine")
	if engine != "aurora-postgresql" {
		return nil, fmt.Errorf("mocks: the catalogue holds only aurora-postgresql versions, not %s", engine)
	}
	family, version := q.str("parameterGroupFamily"), q.str("version")
	input := fmt.Sprintf("{Engine: %s, EngineVersion: %q, DBParameterGroupFamily: %q}", engine, version, family)
	var found []string
	for _, v := range catalogue.AuroraVersions.Versions {
		if family != "" && family != engine+majorOf(v) {
			continue
		}
		if version != "" && v != version && !strings.HasPrefix(v, version+".") {
			continue
		}
		found = append(found, v)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no RDS engine versions found: %s", input)
	}
	prefSearch := false
	if preferred := q.strs("preferredVersions"); len(preferred) > 0 {
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
		prefSearch, found = true, matches
	}
	var v string
	switch {
	case q.flag("latest"):
		sorted := append([]string(nil), found...)
		sort.Slice(sorted, func(i, j int) bool { return versionLess(sorted[i], sorted[j]) })
		v = sorted[len(sorted)-1]
	case len(found) == 1, prefSearch:
		v = found[0]
	default:
		return nil, fmt.Errorf("multiple RDS engine versions (%v) match the criteria: %s", found, input)
	}
	return map[string]interface{}{
		"id": v, "engine": engine, "version": v, "versionActual": v, "status": "available",
		"parameterGroupFamily": engine + majorOf(v), "supportedModes": []interface{}{"provisioned", "global"},
	}, nil
}

// orderable is one OrderableDBInstanceOption.
type orderable struct{ version, class, storage string }

func (o orderable) String() string {
	return fmt.Sprintf("{EngineVersion: %s, DBInstanceClass: %s, StorageType: %s}", o.version, o.class, o.storage)
}

// getOrderableDbInstance follows aws_rds_orderable_db_instance
// (terraform-provider-aws internal/service/rds/
// orderable_instance_data_source.go, aws-sdk-go-v2). AWS lists one option
// per engine version, class and cluster storage type: Aurora PostgreSQL
// 16.1 and later offer Aurora Standard ("aurora") and I/O-Optimized
// ("aurora-iopt1"), so a class and version alone match two options, and a
// class without a version one or two per version. The data source then
// filters by storageType (and the other supports* flags), takes the first
// match of preferredEngineVersions and preferredInstanceClasses (with
// engineLatestVersion, the newest version of the first preferred class),
// else accepts exactly one option: 0 is "no RDS Orderable DB Instance
// Options found", 2 to 4 "multiple (N) RDS DB Instance Classes (<options>)
// match the criteria", more than 4 the same without the options.
func getOrderableDbInstance(q query) (map[string]interface{}, error) {
	const token = "aws:rds/getOrderableDbInstance"
	// Options the catalogue does not describe: refused rather than
	// answered as if every option had them.
	if err := q.notModelled(token, "availabilityZoneGroup", "readReplicaCapable", "supportsEnhancedMonitoring",
		"supportsGlobalDatabases", "supportsIamDatabaseAuthentication", "supportsIops", "supportsKerberosAuthentication",
		"supportsMultiAz", "supportsPerformanceInsights", "supportsStorageAutoscaling", "supportsStorageEncryption",
		"supportedEngineModes", "supportedNetworkTypes"); err != nil {
		return nil, err
	}
	engine, version, class := q.str("engine"), q.str("engineVersion"), q.str("instanceClass")
	if engine != "aurora-postgresql" {
		return nil, fmt.Errorf("mocks: the catalogue holds only aurora-postgresql instance classes, not %s", engine)
	}
	input := fmt.Sprintf("{Engine: %s, EngineVersion: %q, DBInstanceClass: %q}", engine, version, class)
	// DescribeOrderableDBInstanceOptions: the request's filters.
	var results []orderable
	licensed := !q.has("licenseModel") || q.str("licenseModel") == auroraLicense
	for _, v := range catalogue.AuroraVersions.Versions {
		if version != "" && v != version || !licensed {
			continue
		}
		for _, c := range catalogue.AuroraClasses.Types("db.") {
			if class != "" && c != class {
				continue
			}
			for _, st := range catalogue.AuroraStorage.Of(v) {
				results = append(results, orderable{v, c, st})
			}
		}
	}
	// The data source's own filters over AWS's answer. (Every Aurora
	// option supports clusters; a false flag is no filter: GetOk.)
	if st := q.str("storageType"); st != "" {
		var kept []orderable
		for _, o := range results {
			if o.storage == st {
				kept = append(kept, o)
			}
		}
		results = kept
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no RDS Orderable DB Instance Options found matching criteria; try different search")
	}
	prefSearch := false
	if preferred := q.strs("preferredEngineVersions"); len(preferred) > 0 {
		var matches []orderable
		for _, p := range preferred {
			for _, o := range results {
				if o.version == p {
					matches = append(matches, o)
				}
			}
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no RDS Orderable DB Instance Options found matching preferred_engine_versions: %#v", preferred)
		}
		prefSearch, results = true, matches
	}
	latest := q.flag("engineLatestVersion")
	if preferred := q.strs("preferredInstanceClasses"); len(preferred) > 0 {
		var matches []orderable
		for _, p := range preferred {
			for _, o := range results {
				if o.class == p {
					matches = append(matches, o)
				}
				if !latest && len(matches) > 0 {
					break
				}
			}
			if len(matches) > 0 {
				break
			}
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no RDS Orderable DB Instance Options found matching preferred_instance_classes: %#v", preferred)
		}
		prefSearch, results = true, matches
	}
	var found *orderable
	switch {
	case latest && prefSearch:
		sort.SliceStable(results, func(i, j int) bool { return versionLess(results[i].version, results[j].version) })
		found = &results[len(results)-1]
	case prefSearch, len(results) == 1:
		found = &results[0]
	case len(results) > 4:
		return nil, fmt.Errorf("multiple (%d) RDS DB Instance Classes match the criteria; try a different search: %s\nPreferred instance classes: %v\nPreferred engine versions: %v",
			len(results), input, q.strs("preferredInstanceClasses"), q.strs("preferredEngineVersions"))
	default:
		return nil, fmt.Errorf("multiple (%d) RDS DB Instance Classes (%v) match the criteria; try a different search: %s\nPreferred instance classes: %v\nPreferred engine versions: %v",
			len(results), results, input, q.strs("preferredInstanceClasses"), q.strs("preferredEngineVersions"))
	}
	var zones []interface{}
	for _, z := range zoneCatalogue[q.region] {
		if z.Type == "availability-zone" {
			zones = append(zones, z.Name)
		}
	}
	return map[string]interface{}{
		"id": found.class, "engine": engine, "engineVersion": found.version, "instanceClass": found.class,
		"licenseModel": auroraLicense, "storageType": found.storage, "availabilityZones": zones,
		"supportsClusters": true, "supportsStorageEncryption": true, "multiAzCapable": true, "vpc": true,
	}, nil
}

// auroraLicense is the only license model of Aurora PostgreSQL.
const auroraLicense = "postgresql-license"

// reservedOfferingTypes are the offering types aws_elasticache_reserved_
// cache_node_offering's schema accepts.
var reservedOfferingTypes = []string{"Light Utilization", "Medium Utilization", "Heavy Utilization", "Partial Upfront", "All Upfront", "No Upfront"}

// getReservedCacheNodeOffering follows aws_elasticache_reserved_cache_node_
// offering (terraform-provider-aws internal/service/elasticache/
// reserved_cache_node_offering_data_source.go): the schema accepts
// durations P1Y and P3Y and six offering types;
// DescribeReservedCacheNodesOfferings filters by node type, duration,
// offering type and product description; AssertSingleValueResult then
// wants exactly one offering ("empty result", "too many results").
func getReservedCacheNodeOffering(q query) (map[string]interface{}, error) {
	c := catalogue.CacheNodeTypes
	nodeType, product := q.str("cacheNodeType"), q.str("productDescription")
	offering, duration := q.str("offeringType"), q.str("duration")
	if !contains(reservedOfferingTypes, offering) {
		return nil, fmt.Errorf("Attribute offering_type value must be one of: %q, got: %q", reservedOfferingTypes, offering)
	}
	if duration != "P1Y" && duration != "P3Y" {
		return nil, fmt.Errorf("Attribute duration value must be one of: [\"P1Y\" \"P3Y\"], got: %q", duration)
	}
	matches := 0
	if contains(c.Types("cache."), nodeType) {
		family := strings.Split(nodeType, ".")[1]
		offerings, products := c.OfferingTypes, c.ProductDescriptions
		if o, ok := c.OfferingTypesByFamily[family]; ok {
			offerings = o
		}
		if p, ok := c.ProductDescriptionsByFamily[family]; ok {
			products = p
		}
		if contains(offerings, offering) && contains(products, product) && contains(c.Durations, duration) {
			matches = 1
		}
	}
	switch matches {
	case 0:
		return nil, fmt.Errorf("reading ElastiCache Reserved Cache Node Offering: empty result")
	case 1:
	default:
		return nil, fmt.Errorf("reading ElastiCache Reserved Cache Node Offering: too many results: wanted 1, got %d", matches)
	}
	id := uuid("offering", q.region, nodeType, product, offering, duration)
	return map[string]interface{}{
		"id": id, "offeringId": id, "cacheNodeType": nodeType, "productDescription": product,
		"offeringType": offering, "duration": duration, "fixedPrice": 0.0,
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
