//! `updateinfo.xml`: advisories (security, bugfix, enhancement) and the packages that fix them.
