// answer_catalog_query against the queries psql 15 really sends: each query
// text below was captured with `psql -E` from psql 15 against PostgreSQL 15
// (object oids replaced by %OID%), and must get the rows that make psql print
// Strata's catalog. The catalog: a log table "events" and a primary-key table
// "orders" partitioned by list with 4 buckets.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "sql/psql_catalog.h"

namespace strata::sql {
namespace {

using tables::column_def;
using tables::column_type;
using tables::table_info;
using tables::type_id;

// psql 15: \d
constexpr const char* k_list_d = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dt
constexpr const char* k_list_dt = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dt+
constexpr const char* k_list_dt_verbose = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  CASE c.relpersistence WHEN 'p' THEN 'permanent' WHEN 't' THEN 'temporary' WHEN 'u' THEN 'unlogged' END as "Persistence",
  am.amname as "Access method",
  pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid)) as "Size",
  pg_catalog.obj_description(c.oid, 'pg_class') as "Description"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dt ord*
constexpr const char* k_list_dt_pattern = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND c.relname OPERATOR(pg_catalog.~) '^(ord.*)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dt public.*
constexpr const char* k_list_dt_schema = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND n.nspname OPERATOR(pg_catalog.~) '^(public)$' COLLATE pg_catalog.default
ORDER BY 1,2;)sql";

// psql 15: \dt public.ord*
constexpr const char* k_list_dt_schema_pattern = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND c.relname OPERATOR(pg_catalog.~) '^(ord.*)$' COLLATE pg_catalog.default
  AND n.nspname OPERATOR(pg_catalog.~) '^(public)$' COLLATE pg_catalog.default
ORDER BY 1,2;)sql";

// psql 15: \dt "MixedCase"
constexpr const char* k_list_dt_quoted = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND c.relname OPERATOR(pg_catalog.~) '^(MixedCase)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dt "t$changelog"
constexpr const char* k_list_dt_dollar = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND c.relname OPERATOR(pg_catalog.~) E'^(t\\$changelog)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dt (events|orders)
constexpr const char* k_list_dt_alternatives = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND c.relname OPERATOR(pg_catalog.~) '^((events|orders))$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dt ord?rs
constexpr const char* k_list_dt_question = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND c.relname OPERATOR(pg_catalog.~) '^(ord.rs)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \di
constexpr const char* k_list_di = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  c2.relname as "Table"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
     LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid
WHERE c.relkind IN ('i','I','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \di+
constexpr const char* k_list_di_verbose = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  c2.relname as "Table",
  CASE c.relpersistence WHEN 'p' THEN 'permanent' WHEN 't' THEN 'temporary' WHEN 'u' THEN 'unlogged' END as "Persistence",
  am.amname as "Access method",
  pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid)) as "Size",
  pg_catalog.obj_description(c.oid, 'pg_class') as "Description"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
     LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid
WHERE c.relkind IN ('i','I','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dv
constexpr const char* k_list_dv = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \dv+
constexpr const char* k_list_dv_verbose = R"sql(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  CASE c.relpersistence WHEN 'p' THEN 'permanent' WHEN 't' THEN 'temporary' WHEN 'u' THEN 'unlogged' END as "Persistence",
  pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(c.oid)) as "Size",
  pg_catalog.obj_description(c.oid, 'pg_class') as "Description"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)sql";

// psql 15: \d orders
constexpr const char* k_lookup = R"sql(SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(orders)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;)sql";

// psql 15: \d ord*
constexpr const char* k_lookup_pattern = R"sql(SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(ord.*)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;)sql";

// psql 15: \d orders
constexpr const char* k_table_info = R"sql(SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '%OID%';)sql";

// psql 15: \d+ orders
constexpr const char* k_table_info_verbose = R"sql(SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')
, c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '%OID%';)sql";

// psql 15: \d orders
constexpr const char* k_columns = R"sql(SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '%OID%' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;)sql";

// psql 15: \d+ orders
constexpr const char* k_columns_verbose = R"sql(SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated,
  a.attstorage,
  a.attcompression AS attcompression,
  CASE WHEN a.attstattarget=-1 THEN NULL ELSE a.attstattarget END AS attstattarget,
  pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '%OID%' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;)sql";

// psql 15: \d orders
constexpr const char* k_table_indexes = R"sql(SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
WHERE c.oid = '%OID%' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname;)sql";

// psql 15: \d orders
constexpr const char* k_policies = R"sql(SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '%OID%' ORDER BY 1;)sql";

// psql 15: \d orders
constexpr const char* k_statistics = R"sql(SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = '%OID%'
ORDER BY nsp, stxname;)sql";

// psql 15: \d orders
constexpr const char* k_publications = R"sql(SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='%OID%' and pg_catalog.pg_relation_is_publishable('%OID%')
UNION
SELECT pubname
     , pg_get_expr(pr.prqual, c.oid)
     , (CASE WHEN pr.prattrs IS NOT NULL THEN
         (SELECT string_agg(attname, ', ')
           FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                pg_catalog.pg_attribute
          WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
        ELSE NULL END) FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
WHERE pr.prrelid = '%OID%'
UNION
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('%OID%')
ORDER BY 1;)sql";

// psql 15: \d orders
constexpr const char* k_inherits = R"sql(SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '%OID%'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno;)sql";

// psql 15: \d orders
constexpr const char* k_partitions = R"sql(SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhrelid AND i.inhparent = '%OID%'
ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.oid::pg_catalog.regclass::pg_catalog.text;)sql";

// psql 15: \d ord*
constexpr const char* k_index_columns = R"sql(SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  CASE WHEN a.attnum <= (SELECT i.indnkeyatts FROM pg_catalog.pg_index i WHERE i.indexrelid = '%OID%') THEN 'yes' ELSE 'no' END AS is_key,
  pg_catalog.pg_get_indexdef(a.attrelid, a.attnum, TRUE) AS indexdef
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '%OID%' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;)sql";

// psql 15: \d ord*
constexpr const char* k_index_info = R"sql(SELECT i.indisunique, i.indisprimary, i.indisclustered, i.indisvalid,
  (NOT i.indimmediate) AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x') AND condeferrable) AS condeferrable,
  (NOT i.indimmediate) AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x') AND condeferred) AS condeferred,
i.indisreplident,
i.indnullsnotdistinct,
  a.amname, c2.relname, pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)
FROM pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_am a
WHERE i.indexrelid = c.oid AND c.oid = '%OID%' AND c.relam = a.oid
AND i.indrelid = c2.oid;)sql";

// psql 15: \d+ orders_pkey
constexpr const char* k_index_columns_verbose = R"sql(SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  CASE WHEN a.attnum <= (SELECT i.indnkeyatts FROM pg_catalog.pg_index i WHERE i.indexrelid = '%OID%') THEN 'yes' ELSE 'no' END AS is_key,
  pg_catalog.pg_get_indexdef(a.attrelid, a.attnum, TRUE) AS indexdef,
  a.attstorage,
  CASE WHEN a.attstattarget=-1 THEN NULL ELSE a.attstattarget END AS attstattarget
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '%OID%' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;)sql";

// psql 15: \l
constexpr const char* k_databases = R"sql(SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       d.datcollate as "Collate",
       d.datctype as "Ctype",
       d.daticulocale as "ICU Locale",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS "Locale Provider",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges"
FROM pg_catalog.pg_database d
ORDER BY 1;)sql";

// psql 15: \l+
constexpr const char* k_databases_verbose = R"sql(SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       d.datcollate as "Collate",
       d.datctype as "Ctype",
       d.daticulocale as "ICU Locale",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS "Locale Provider",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges",
       CASE WHEN pg_catalog.has_database_privilege(d.datname, 'CONNECT')
            THEN pg_catalog.pg_size_pretty(pg_catalog.pg_database_size(d.datname))
            ELSE 'No Access'
       END as "Size",
       t.spcname as "Tablespace",
       pg_catalog.shobj_description(d.oid, 'pg_database') as "Description"
FROM pg_catalog.pg_database d
  JOIN pg_catalog.pg_tablespace t on d.dattablespace = t.oid
ORDER BY 1;)sql";

// psql 15: \l strata
constexpr const char* k_databases_pattern = R"sql(SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       d.datcollate as "Collate",
       d.datctype as "Ctype",
       d.daticulocale as "ICU Locale",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS "Locale Provider",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges"
FROM pg_catalog.pg_database d
WHERE d.datname OPERATOR(pg_catalog.~) '^(strata)$' COLLATE pg_catalog.default
ORDER BY 1;)sql";

// psql 15: \dn
constexpr const char* k_schemas = R"sql(SELECT n.nspname AS "Name",
  pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner"
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1;)sql";

// psql 15: \dn+
constexpr const char* k_schemas_verbose = R"sql(SELECT n.nspname AS "Name",
  pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner",
  pg_catalog.array_to_string(n.nspacl, E'\n') AS "Access privileges",
  pg_catalog.obj_description(n.oid, 'pg_namespace') AS "Description"
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1;)sql";

// psql 15: \dn public
constexpr const char* k_schemas_pattern = R"sql(SELECT n.nspname AS "Name",
  pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner"
FROM pg_catalog.pg_namespace n
WHERE n.nspname OPERATOR(pg_catalog.~) '^(public)$' COLLATE pg_catalog.default
ORDER BY 1;)sql";

// psql 15: \dn public
constexpr const char* k_schema_publications = R"sql(SELECT pubname 
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid 
WHERE n.nspname = 'public'
ORDER BY 1)sql";

// psql 15: \du
constexpr const char* k_roles = R"sql(SELECT r.rolname, r.rolsuper, r.rolinherit,
  r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
  r.rolconnlimit, r.rolvaliduntil,
  ARRAY(SELECT b.rolname
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid)
        WHERE m.member = r.oid) as memberof
, r.rolreplication
, r.rolbypassrls
FROM pg_catalog.pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY 1;)sql";

// psql 15: \du+
constexpr const char* k_roles_verbose = R"sql(SELECT r.rolname, r.rolsuper, r.rolinherit,
  r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
  r.rolconnlimit, r.rolvaliduntil,
  ARRAY(SELECT b.rolname
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid)
        WHERE m.member = r.oid) as memberof
, pg_catalog.shobj_description(r.oid, 'pg_authid') AS description
, r.rolreplication
, r.rolbypassrls
FROM pg_catalog.pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY 1;)sql";

// psql 15: \du strata
constexpr const char* k_roles_pattern = R"sql(SELECT r.rolname, r.rolsuper, r.rolinherit,
  r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
  r.rolconnlimit, r.rolvaliduntil,
  ARRAY(SELECT b.rolname
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid)
        WHERE m.member = r.oid) as memberof
, r.rolreplication
, r.rolbypassrls
FROM pg_catalog.pg_roles r
WHERE r.rolname OPERATOR(pg_catalog.~) '^(strata)$' COLLATE pg_catalog.default
ORDER BY 1;)sql";

// psql 15: \df
constexpr const char* k_functions = R"sql(SELECT n.nspname as "Schema",
  p.proname as "Name",
  pg_catalog.pg_get_function_result(p.oid) as "Result data type",
  pg_catalog.pg_get_function_arguments(p.oid) as "Argument data types",
 CASE p.prokind
  WHEN 'a' THEN 'agg'
  WHEN 'w' THEN 'window'
  WHEN 'p' THEN 'proc'
  ELSE 'func'
 END as "Type"
FROM pg_catalog.pg_proc p
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE pg_catalog.pg_function_is_visible(p.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
ORDER BY 1, 2, 4;)sql";

// psql 15: \df+
constexpr const char* k_functions_verbose = R"sql(SELECT n.nspname as "Schema",
  p.proname as "Name",
  pg_catalog.pg_get_function_result(p.oid) as "Result data type",
  pg_catalog.pg_get_function_arguments(p.oid) as "Argument data types",
 CASE p.prokind
  WHEN 'a' THEN 'agg'
  WHEN 'w' THEN 'window'
  WHEN 'p' THEN 'proc'
  ELSE 'func'
 END as "Type",
 CASE
  WHEN p.provolatile = 'i' THEN 'immutable'
  WHEN p.provolatile = 's' THEN 'stable'
  WHEN p.provolatile = 'v' THEN 'volatile'
 END as "Volatility",
 CASE
  WHEN p.proparallel = 'r' THEN 'restricted'
  WHEN p.proparallel = 's' THEN 'safe'
  WHEN p.proparallel = 'u' THEN 'unsafe'
 END as "Parallel",
 pg_catalog.pg_get_userbyid(p.proowner) as "Owner",
 CASE WHEN prosecdef THEN 'definer' ELSE 'invoker' END AS "Security",
 pg_catalog.array_to_string(p.proacl, E'\n') AS "Access privileges",
 l.lanname as "Language",
 COALESCE(pg_catalog.pg_get_function_sqlbody(p.oid), p.prosrc) as "Source code",
 pg_catalog.obj_description(p.oid, 'pg_proc') as "Description"
FROM pg_catalog.pg_proc p
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE pg_catalog.pg_function_is_visible(p.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
ORDER BY 1, 2, 4;)sql";

// psql 15: \dT
constexpr const char* k_types = R"sql(SELECT n.nspname as "Schema",
  pg_catalog.format_type(t.oid, NULL) AS "Name",
  pg_catalog.obj_description(t.oid, 'pg_type') as "Description"
FROM pg_catalog.pg_type t
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid))
  AND NOT EXISTS(SELECT 1 FROM pg_catalog.pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_type_is_visible(t.oid)
ORDER BY 1, 2;)sql";

// psql 15: \dx
constexpr const char* k_extensions = R"sql(SELECT e.extname AS "Name", e.extversion AS "Version", n.nspname AS "Schema", c.description AS "Description"
FROM pg_catalog.pg_extension e LEFT JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace LEFT JOIN pg_catalog.pg_description c ON c.objoid = e.oid AND c.classoid = 'pg_catalog.pg_extension'::pg_catalog.regclass
ORDER BY 1;)sql";

using grid = std::vector<std::vector<std::string>>;
constexpr const char* null_text = "NULL";

column_def col(std::string name, column_type type, bool not_null = false) { return {std::move(name), type, not_null}; }

table_info events_table() {
  table_info t;
  t.table_id = 1;
  t.schema.name = "events";
  t.schema.kind = tables::table_kind::log;
  t.schema.columns = {col("ts", {type_id::timestamptz}, true), col("kind", {type_id::text}),
                      col("amount", {type_id::numeric, 10, 2}), col("payload", {type_id::json})};
  t.stored_bytes = 8192;
  return t;
}

table_info orders_table() {
  table_info t;
  t.table_id = 2;
  t.schema.name = "orders";
  t.schema.kind = tables::table_kind::primary_key;
  t.schema.columns = {col("id", {type_id::int64}, true), col("region", {type_id::text, 0, 0, 20}, true),
                      col("created", {type_id::date}), col("total", {type_id::numeric, 12, 2}),
                      col("ok", {type_id::boolean})};
  t.schema.primary_key = {0, 1};
  t.schema.partitioning.kind = tables::partition_kind::list;
  t.schema.partitioning.column = 1;
  t.schema.buckets = 4;
  t.stored_bytes = 1536000;
  return t;
}

table_info named_table(uint64_t id, std::string name, std::string key_column = "") {
  table_info t;
  t.table_id = id;
  t.schema.name = std::move(name);
  t.schema.columns = {col(key_column.empty() ? "x" : key_column, {type_id::int32}, !key_column.empty())};
  if (!key_column.empty()) {
    t.schema.kind = tables::table_kind::primary_key;
    t.schema.primary_key = {0};
  }
  return t;
}

const std::vector<table_info>& catalog() {
  static const std::vector<table_info> tables = {orders_table(), events_table()};
  return tables;
}

std::string with_oid(std::string sql, uint32_t oid) {
  for (size_t at; (at = sql.find("%OID%")) != std::string::npos;) sql.replace(at, 5, std::to_string(oid));
  return sql;
}

std::string cell(const tables::column_vector& c, uint32_t row) {
  if (c.is_null(row)) return null_text;
  auto v = tables::scalar_at(c, row);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "t" : "f";
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return "?";
}

struct answer {
  std::vector<field> fields;
  grid rows;
  std::string tag;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& f : fields) out.push_back(f.name);
    return out;
  }
  std::vector<uint32_t> oids() const {
    std::vector<uint32_t> out;
    for (const auto& f : fields) out.push_back(f.type_oid);
    return out;
  }
};

answer run(const std::string& sql, const std::vector<table_info>& tables = catalog(), std::string_view db = "strata",
           std::string_view user = "strata") {
  auto got = answer_catalog_query(sql, tables, db, user);
  answer a;
  EXPECT_TRUE(got.has_value()) << "not recognised:\n" << sql;
  if (!got) return a;
  EXPECT_TRUE(got->ok()) << got->err().message << "\n" << sql;
  if (!got->ok()) return a;
  const catalog_answer& c = got->value();
  a.fields = c.fields;
  a.tag = c.command_tag;
  EXPECT_EQ(c.fields.size(), c.rows.columns.size());
  for (const auto& column : c.rows.columns) EXPECT_EQ(column.row_count, c.rows.row_count);
  for (uint32_t r = 0; r < c.rows.row_count; ++r) {
    std::vector<std::string> row;
    for (const auto& column : c.rows.columns) row.push_back(cell(column, r));
    a.rows.push_back(std::move(row));
  }
  return a;
}

// The same query with psql's pattern replaced (psql writes `'^(orders)$'`).
std::string with_pattern(std::string sql, const std::string& from, const std::string& to) {
  size_t at = sql.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) sql.replace(at, from.size(), to);
  return sql;
}

const uint32_t events_oid = table_oid(1);
const uint32_t orders_oid = table_oid(2);
const uint32_t orders_pkey_oid = table_oid(2) + 1;

TEST(PsqlCatalog, TableOidsAreStableDistinctAndLeaveRoomForTheIndex) {
  EXPECT_EQ(table_oid(7), table_oid(7));
  EXPECT_GE(table_oid(0), 16384u);
  EXPECT_GE(table_oid(2), table_oid(1) + 2);
  EXPECT_NE(table_oid(1), table_oid(2));
}

TEST(PsqlCatalog, BackslashDListsTablesSortedByName) {
  for (const char* sql : {k_list_d, k_list_dt}) {
    answer a = run(sql);
    EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner"}));
    EXPECT_EQ(a.oids(), (std::vector<uint32_t>{19, 19, 25, 19}));
    EXPECT_EQ(a.rows, (grid{{"public", "events", "table", "strata"}, {"public", "orders", "table", "strata"}}));
    EXPECT_EQ(a.tag, "SELECT 2");
  }
}

TEST(PsqlCatalog, OwnerIsTheConnectedUser) {
  answer a = run(k_list_dt, catalog(), "strata", "ann");
  ASSERT_EQ(a.rows.size(), 2u);
  EXPECT_EQ(a.rows[0][3], "ann");
  a = run(k_list_dt, catalog(), "strata", "");
  ASSERT_EQ(a.rows.size(), 2u);
  EXPECT_EQ(a.rows[0][3], "strata");
}

TEST(PsqlCatalog, BackslashDtPlusShowsKindAndSize) {
  answer a = run(k_list_dt_verbose);
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner", "Persistence", "Access method",
                                                 "Size", "Description"}));
  EXPECT_EQ(a.rows, (grid{{"public", "events", "table", "strata", "permanent", "strata_log", "8192 bytes", null_text},
                          {"public", "orders", "table", "strata", "permanent", "strata_pk", "1500 kB", null_text}}));
}

TEST(PsqlCatalog, SizesPrintLikePgSizePretty) {
  auto size_of = [](uint64_t bytes) {
    table_info t = named_table(3, "t");
    t.stored_bytes = bytes;
    answer a = run(k_list_dt_verbose, {t});
    return a.rows.empty() ? std::string() : a.rows[0][6];
  };
  EXPECT_EQ(size_of(0), "0 bytes");
  EXPECT_EQ(size_of(10239), "10239 bytes");
  EXPECT_EQ(size_of(10240), "10 kB");
  EXPECT_EQ(size_of(10751), "10 kB");
  EXPECT_EQ(size_of(10752), "11 kB");
  EXPECT_EQ(size_of(20 * 1024 * 1024), "20 MB");
  EXPECT_EQ(size_of(uint64_t(5) << 40), "5120 GB");
}

TEST(PsqlCatalog, PatternsSelectTables) {
  auto names = [](const char* sql, const std::vector<table_info>& tables = catalog()) {
    std::vector<std::string> out;
    for (const auto& row : run(sql, tables).rows) out.push_back(row[1]);
    return out;
  };
  using list = std::vector<std::string>;
  EXPECT_EQ(names(k_list_dt_pattern), list{"orders"});         // ord*
  EXPECT_EQ(names(k_list_dt_question), list{"orders"});        // ord?rs
  EXPECT_EQ(names(k_list_dt_alternatives), (list{"events", "orders"}));
  EXPECT_EQ(names(k_list_dt_schema), (list{"events", "orders"}));  // public.*
  EXPECT_EQ(names(k_list_dt_schema_pattern), list{"orders"});     // public.ord*
  EXPECT_TRUE(names(with_pattern(k_list_dt_schema_pattern, "'^(public)$'", "'^(other)$'").c_str()).empty());
  EXPECT_TRUE(names(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^(rders)$'").c_str()).empty());

  const std::vector<table_info> odd = {named_table(3, "MixedCase"), named_table(4, "mixedcase2"),
                                       named_table(5, "t$changelog"), named_table(6, "tXchangelog")};
  EXPECT_EQ(names(k_list_dt_quoted, odd), list{"MixedCase"});     // "MixedCase": case kept
  EXPECT_EQ(names(k_list_dt_dollar, odd), list{"t$changelog"});   // E'^(t\\$changelog)$'
  EXPECT_EQ(names(k_list_d, odd), (list{"MixedCase", "mixedcase2", "t$changelog", "tXchangelog"}));
}

TEST(PsqlCatalog, RegularExpressionsTheUserTypes) {
  const std::vector<table_info> tables = {named_table(3, "events"), named_table(4, "orders"),
                                          named_table(5, "order_2024"), named_table(6, "Order.Items"),
                                          named_table(7, "a+b")};
  auto names = [&](const std::string& regex) {
    std::vector<std::string> out;
    for (const auto& row : run(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", regex), tables).rows) out.push_back(row[1]);
    return out;
  };
  using list = std::vector<std::string>;
  EXPECT_EQ(names("'^([a-f]vents|o.*)$'"), (list{"events", "order_2024", "orders"}));
  // psql sends standard strings ('\d' is backslash d) or, when the pattern has a
  // backslash and standard_conforming_strings is off, E strings ('\\d').
  EXPECT_EQ(names("'^(order_\\d+)$'"), list{"order_2024"});
  EXPECT_EQ(names("E'^(order_\\\\d+)$'"), list{"order_2024"});
  EXPECT_EQ(names("'^(order_[0-9]+)$'"), list{"order_2024"});
  EXPECT_EQ(names("'^(orders?)$'"), list{"orders"});
  EXPECT_EQ(names("'^(Order\\.Items)$'"), list{"Order.Items"});  // psql's escaping of a quoted "."
  EXPECT_EQ(names("'^(Order\\\\.Items)$'"), list{});               // a literal backslash
  EXPECT_EQ(names("E'^(a\\\\+b)$'"), list{"a+b"});
  EXPECT_EQ(names("'^(a+b)$'"), list{});
  EXPECT_EQ(names("'^([^eo].*)$'"), (list{"Order.Items", "a+b"}));
  EXPECT_EQ(names("'^((?:or)der.*)$'"), (list{"order_2024", "orders"}));
  EXPECT_EQ(names("'der'"), (list{"Order.Items", "order_2024", "orders"}));  // unanchored: anywhere in the name
  EXPECT_EQ(names("'^()$'"), list{});
  EXPECT_EQ(names("'^(|events)$'"), list{"events"});
}

TEST(PsqlCatalog, PatternsMatchInLinearTime) {
  const std::string name(63, 'a');
  const auto started = std::chrono::steady_clock::now();
  answer a = run(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^(((a*)*)*)*b$'"), {named_table(3, name)});
  EXPECT_TRUE(a.rows.empty());
  a = run(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^(((a*)*)*)*$'"), {named_table(3, name)});
  EXPECT_EQ(a.rows.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(PsqlCatalog, ABadPatternIsAnError) {
  for (const char* regex : {"'^(a{2})$'", "'^([b-a])$'", "'^([abc)$'", "'^(a))$'", "'*a'", "'a\\'"}) {
    auto got = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", regex), catalog(), "strata",
                                    "strata");
    ASSERT_TRUE(got.has_value()) << regex;
    ASSERT_FALSE(got->ok()) << regex;
    EXPECT_EQ(got->err().sqlstate, "2201B") << regex;
  }
  // E'a\' never closes: the query itself is malformed.
  auto open = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "E'a\\'"), catalog(), "strata",
                                   "strata");
  ASSERT_TRUE(open.has_value());
  ASSERT_FALSE(open->ok());
  EXPECT_EQ(open->err().sqlstate, "42601");
  std::string deep = "'" + std::string(100, '(') + "a" + std::string(100, ')') + "'";
  auto got = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", deep), catalog(), "strata", "strata");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->ok());
}

TEST(PsqlCatalog, UnbalancedParenthesesAreAnError) {
  auto got = answer_catalog_query(with_pattern(k_list_dt_pattern, "'^(ord.*)$'", "'^((ord$'"), catalog(), "strata",
                                  "strata");
  ASSERT_TRUE(got.has_value());
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->err().sqlstate, "2201B");
}

TEST(PsqlCatalog, IndexesAreThePrimaryKeys) {
  answer a = run(k_list_di);
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner", "Table"}));
  EXPECT_EQ(a.rows, (grid{{"public", "orders_pkey", "index", "strata", "orders"}}));
  a = run(k_list_di_verbose);
  EXPECT_EQ(a.rows, (grid{{"public", "orders_pkey", "index", "strata", "orders", "permanent", "btree", null_text,
                           null_text}}));
}

TEST(PsqlCatalog, ViewsAndOtherKindsAreEmpty) {
  answer a = run(k_list_dv);
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Schema", "Name", "Type", "Owner"}));
  EXPECT_TRUE(a.rows.empty());
  EXPECT_EQ(a.tag, "SELECT 0");
  a = run(k_list_dv_verbose);
  EXPECT_EQ(a.fields.size(), 7u);
  EXPECT_TRUE(a.rows.empty());
}

TEST(PsqlCatalog, LookupFindsTablesAndIndexesByPattern) {
  answer a = run(k_lookup);
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{26, 19, 19}));
  EXPECT_EQ(a.rows, (grid{{std::to_string(orders_oid), "public", "orders"}}));
  a = run(k_lookup_pattern);
  EXPECT_EQ(a.rows, (grid{{std::to_string(orders_oid), "public", "orders"},
                          {std::to_string(orders_pkey_oid), "public", "orders_pkey"}}));
  EXPECT_TRUE(run(with_pattern(k_lookup, "'^(orders)$'", "'^(nosuch)$'")).rows.empty());
}

TEST(PsqlCatalog, TableInfo) {
  answer a = run(with_oid(k_table_info, orders_oid));
  ASSERT_EQ(a.fields.size(), 15u);
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{21, 18, 16, 16, 16, 16, 16, 16, 16, 25, 26, 25, 18, 18, 19}));
  EXPECT_EQ(a.rows, (grid{{"0", "r", "t", "f", "f", "f", "f", "f", "f", "", "0", "", "p", "d", "strata_pk"}}));
  // \d+ asks for reloptions, which carry the partitioning and buckets (psql prints "Options: ...").
  a = run(with_oid(k_table_info_verbose, orders_oid));
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][9], "partition_by=list(region), buckets=4");
  a = run(with_oid(k_table_info_verbose, events_oid));
  EXPECT_EQ(a.rows, (grid{{"0", "r", "f", "f", "f", "f", "f", "f", "f", "", "0", "", "p", "d", "strata_log"}}));
  a = run(with_oid(k_table_info, orders_pkey_oid));
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][1], "i");
  EXPECT_EQ(a.rows[0][14], "btree");
  EXPECT_TRUE(run(with_oid(k_table_info, 99999)).rows.empty());
}

TEST(PsqlCatalog, RangePartitionsAndBucketKeysShowAsOptions) {
  table_info t = events_table();
  t.schema.partitioning = {tables::partition_kind::range_time, 0, tables::time_unit::month};
  t.schema.buckets = 2;
  t.schema.bucket_key = {1};
  answer a = run(with_oid(k_table_info_verbose, events_oid), {t});
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][9], "partition_by=range(ts) interval month, buckets=2, bucket_key=(kind)");
}

TEST(PsqlCatalog, Columns) {
  answer a = run(with_oid(k_columns, orders_oid));
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{19, 25, 25, 16, 19, 18, 18}));
  EXPECT_EQ(a.rows, (grid{{"id", "bigint", null_text, "t", null_text, "", ""},
                          {"region", "character varying(20)", null_text, "t", null_text, "", ""},
                          {"created", "date", null_text, "f", null_text, "", ""},
                          {"total", "numeric(12,2)", null_text, "f", null_text, "", ""},
                          {"ok", "boolean", null_text, "f", null_text, "", ""}}));
  a = run(with_oid(k_columns_verbose, events_oid));
  EXPECT_EQ(a.rows, (grid{{"ts", "timestamp with time zone", null_text, "t", null_text, "", "", "p", "", null_text,
                           null_text},
                          {"kind", "text", null_text, "f", null_text, "", "", "x", "", null_text, null_text},
                          {"amount", "numeric(10,2)", null_text, "f", null_text, "", "", "m", "", null_text, null_text},
                          {"payload", "json", null_text, "f", null_text, "", "", "x", "", null_text, null_text}}));
  EXPECT_TRUE(run(with_oid(k_columns, orders_pkey_oid)).rows.empty());  // the index form is another query
}

TEST(PsqlCatalog, PrimaryKeyIsTheTablesIndex) {
  answer a = run(with_oid(k_table_indexes, orders_oid));
  EXPECT_EQ(a.rows, (grid{{"orders_pkey", "t", "t", "f", "t",
                           "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id, region)",
                           "PRIMARY KEY (id, region)", "p", "f", "f", "f", "0"}}));
  EXPECT_TRUE(run(with_oid(k_table_indexes, events_oid)).rows.empty());
}

TEST(PsqlCatalog, NamesThatNeedQuotesAreQuoted) {
  const std::vector<table_info> tables = {named_table(3, "Order Items", "Key"), named_table(4, "user", "order")};
  answer a = run(with_oid(k_table_indexes, table_oid(3)), tables);
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][0], "Order Items_pkey");
  EXPECT_EQ(a.rows[0][5], "CREATE UNIQUE INDEX \"Order Items_pkey\" ON public.\"Order Items\" USING btree (\"Key\")");
  EXPECT_EQ(a.rows[0][6], "PRIMARY KEY (\"Key\")");
  a = run(with_oid(k_table_indexes, table_oid(4)), tables);
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][5], "CREATE UNIQUE INDEX user_pkey ON public.\"user\" USING btree (\"order\")");
}

TEST(PsqlCatalog, LongNamesClipTheIndexNameTo63Bytes) {
  const std::string name(63, 'a');
  answer a = run(k_list_di, {named_table(3, name, "k")});
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][1], std::string(58, 'a') + "_pkey");
}

TEST(PsqlCatalog, DescribeIndex) {
  answer a = run(with_oid(k_index_columns, orders_pkey_oid));
  EXPECT_EQ(a.names(), (std::vector<std::string>{"attname", "format_type", "is_key", "indexdef"}));
  EXPECT_EQ(a.rows, (grid{{"id", "bigint", "yes", "id"}, {"region", "character varying(20)", "yes", "region"}}));
  a = run(with_oid(k_index_columns_verbose, orders_pkey_oid));
  EXPECT_EQ(a.rows, (grid{{"id", "bigint", "yes", "id", "p", null_text},
                          {"region", "character varying(20)", "yes", "region", "x", null_text}}));
  EXPECT_TRUE(run(with_oid(k_index_columns, orders_oid)).rows.empty());
  a = run(with_oid(k_index_info, orders_pkey_oid));
  EXPECT_EQ(a.rows, (grid{{"t", "t", "f", "t", "f", "f", "f", "f", "btree", "orders", null_text}}));
  EXPECT_TRUE(run(with_oid(k_index_info, orders_oid)).rows.empty());
}

TEST(PsqlCatalog, FeaturesStrataLacksAnswerNoRows) {
  const std::pair<const char*, size_t> queries[] = {
      {k_policies, 6}, {k_statistics, 9}, {k_publications, 3}, {k_inherits, 1}, {k_partitions, 4}};
  for (auto [sql, columns] : queries) {
    answer a = run(with_oid(sql, orders_oid));
    EXPECT_EQ(a.fields.size(), columns) << sql;
    EXPECT_TRUE(a.rows.empty()) << sql;
    EXPECT_EQ(a.tag, "SELECT 0");
  }
}

TEST(PsqlCatalog, Databases) {
  answer a = run(k_databases, catalog(), "shop", "ann");
  EXPECT_EQ(a.names(), (std::vector<std::string>{"Name", "Owner", "Encoding", "Collate", "Ctype", "ICU Locale",
                                                 "Locale Provider", "Access privileges"}));
  EXPECT_EQ(a.rows, (grid{{"shop", "ann", "UTF8", "C", "C", null_text, "libc", null_text}}));
  a = run(k_databases_verbose);
  ASSERT_EQ(a.rows.size(), 1u);
  ASSERT_EQ(a.fields.size(), 11u);
  EXPECT_EQ(a.rows[0][8], "1508 kB");  // 8192 + 1536000 bytes
  EXPECT_EQ(a.rows[0][9], "pg_default");
  EXPECT_EQ(run(k_databases_pattern).rows.size(), 1u);                      // \l strata
  EXPECT_TRUE(run(k_databases_pattern, catalog(), "shop", "ann").rows.empty());  // \l strata, connected to shop
}

TEST(PsqlCatalog, Schemas) {
  EXPECT_EQ(run(k_schemas, catalog(), "strata", "ann").rows, (grid{{"public", "ann"}}));
  EXPECT_EQ(run(k_schemas_verbose).rows,
            (grid{{"public", "strata", "strata=UC/strata\n=U/strata", "standard public schema"}}));
  EXPECT_EQ(run(k_schemas_pattern).rows, (grid{{"public", "strata"}}));
  EXPECT_TRUE(run(with_pattern(k_schemas_pattern, "'^(public)$'", "'^(pg_catalog)$'")).rows.empty());
  answer a = run(k_schema_publications);
  EXPECT_EQ(a.fields.size(), 1u);
  EXPECT_TRUE(a.rows.empty());
}

TEST(PsqlCatalog, Roles) {
  answer a = run(k_roles, catalog(), "strata", "ann");
  EXPECT_EQ(a.oids(), (std::vector<uint32_t>{19, 16, 16, 16, 16, 16, 23, 1184, 1003, 16, 16}));
  EXPECT_EQ(a.rows, (grid{{"ann", "t", "t", "t", "t", "t", "-1", null_text, "{}", "f", "f"}}));
  a = run(k_roles_verbose);
  EXPECT_EQ(a.rows, (grid{{"strata", "t", "t", "t", "t", "t", "-1", null_text, "{}", null_text, "f", "f"}}));
  EXPECT_EQ(run(k_roles_pattern).rows.size(), 1u);
  EXPECT_TRUE(run(k_roles_pattern, catalog(), "strata", "ann").rows.empty());
}

TEST(PsqlCatalog, NoFunctionsTypesOrExtensions) {
  const std::pair<const char*, std::vector<std::string>> queries[] = {
      {k_functions, {"Schema", "Name", "Result data type", "Argument data types", "Type"}},
      {k_types, {"Schema", "Name", "Description"}},
      {k_extensions, {"Name", "Version", "Schema", "Description"}},
  };
  for (const auto& [sql, names] : queries) {
    answer a = run(sql);
    EXPECT_EQ(a.names(), names);
    EXPECT_TRUE(a.rows.empty());
  }
  EXPECT_EQ(run(k_functions_verbose).fields.size(), 13u);
}

TEST(PsqlCatalog, EmptyCatalog) {
  EXPECT_TRUE(run(k_list_dt, {}).rows.empty());
  EXPECT_TRUE(run(k_lookup, {}).rows.empty());
  EXPECT_EQ(run(k_databases, {}).rows.size(), 1u);
}

TEST(PsqlCatalog, WhitespaceAndSemicolonsDoNotMatter) {
  std::string flat;
  for (const char* p = k_list_dt; *p != '\0'; ++p) {
    if (*p == '\n') {
      flat += " \t  ";
    } else {
      flat.push_back(*p);
    }
  }
  while (!flat.empty() && flat.back() == ';') flat.pop_back();
  EXPECT_EQ(run("\n  " + flat + "  ").rows, run(k_list_dt).rows);
  EXPECT_EQ(run(flat + " ;").rows.size(), 2u);
}

TEST(PsqlCatalog, OtherSelectsAreNotCatalogQueries) {
  for (const char* sql : {
           "SELECT 1",
           "SELECT * FROM orders",
           "SELECT * FROM pg_catalog.pg_class",
           "SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r'",
           "SELECT c.oid, c.relname FROM pg_catalog.pg_class c",
           "SELECT n.nspname FROM pg_catalog.pg_namespace n",
           "SELECT datname FROM pg_catalog.pg_database",
           "SELECT pg_catalog.version()",
           "SELECT rolname FROM pg_catalog.pg_roles",
           "SELECT 'select n.nspname as \"Schema\"' FROM t",
           "",
       }) {
    EXPECT_FALSE(answer_catalog_query(sql, catalog(), "strata", "strata").has_value()) << sql;
  }
  EXPECT_FALSE(answer_catalog_query(std::string(100000, ' ') + k_list_dt, catalog(), "strata", "strata").has_value());
}

}  // namespace
}  // namespace strata::sql
