//! Host tests of the FF-A dispatcher against a fake machine (see the module docs inside).
