//! What browsers load: the widget script, the inbox, admin and login pages with their assets
//! and locales ([`pages`]), and the public help center ([`help_center`]), all server-rendered
//! or embedded in the binary; web forms ([`forms`]).

pub mod forms;
pub mod help_center;
pub mod pages;
