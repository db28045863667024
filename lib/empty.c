/* Placeholder translation unit for a library folder that has no sources yet. */
typedef int lawtap_empty_unit;
